#!/bin/bash
# The image's HEALTHCHECK: succeeds when GET /v2/health/ready answers 200,
# i.e. every model is ready.  Bash's /dev/tcp keeps curl out of the image.
exec 3<>"/dev/tcp/127.0.0.1/${FOREST_HTTP_PORT:-8000}" || exit 1
printf 'GET /v2/health/ready HTTP/1.0\r\nHost: localhost\r\n\r\n' >&3
read -r -t 5 _ status _ <&3 || exit 1
[ "$status" = 200 ]
