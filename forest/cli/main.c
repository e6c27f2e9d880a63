#include <stdio.h>
int main(void) { fputs("forest: CLI not built yet\n", stderr); return 2; }
