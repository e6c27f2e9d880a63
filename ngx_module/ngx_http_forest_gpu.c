/*
 * Config-time GPU check for device=gpu.  CUDA state does not survive fork(),
 * and the master (which reads the configuration, also for `nginx -t`) forks
 * every worker, so the master itself must never initialise CUDA: the probe
 * runs in a short-lived child that reports back through a pipe.  The child
 * takes the environment the workers will have (nginx's env directives, read
 * before the http block), so CUDA_VISIBLE_DEVICES means the same to both.
 */
#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_http_forest_module.h"

#if (NGX_FOREST_CUDA)

#include <sys/wait.h>

#include "../gpu/forest_gpu.h"


typedef struct {
    int   devices;
    char  err[FOREST_ERR_LEN];
} ngx_http_forest_probe_result_t;


ngx_int_t
ngx_http_forest_gpu_probe(ngx_cycle_t *cycle, char *err, size_t errlen)
{
    int                             fd[2], status = 0;
    pid_t                           pid;
    ssize_t                         n;
    ngx_http_forest_probe_result_t  r;

    if (pipe(fd) != 0) {
        ngx_snprintf((u_char *) err, errlen, "pipe() failed: %s%Z",
                     strerror(errno));
        return NGX_ERROR;
    }

    pid = fork();
    if (pid == -1) {
        ngx_snprintf((u_char *) err, errlen, "fork() failed: %s%Z",
                     strerror(errno));
        close(fd[0]);
        close(fd[1]);
        return NGX_ERROR;
    }

    if (pid == 0) {
        close(fd[0]);
        ngx_memzero(&r, sizeof(r));

        if (ngx_set_environment(cycle, NULL) == NULL) {
            _exit(1);
        }

        r.devices = forest_gpu_probe(r.err, sizeof(r.err));
        n = write(fd[1], &r, sizeof(r));
        _exit(n == (ssize_t) sizeof(r) ? 0 : 1);
    }

    close(fd[1]);
    n = read(fd[0], &r, sizeof(r));
    close(fd[0]);

    while (waitpid(pid, &status, 0) == -1 && errno == EINTR) {
        /* retry */
    }

    if (n != (ssize_t) sizeof(r)) {
        ngx_snprintf((u_char *) err, errlen,
                     "the GPU probe process failed (status %d)%Z", status);
        return NGX_ERROR;
    }

    if (r.devices <= 0) {
        r.err[sizeof(r.err) - 1] = '\0';
        ngx_cpystrn((u_char *) err, (u_char *) r.err, errlen);
        return NGX_ERROR;
    }

    return NGX_OK;
}

#endif
