/* locks FILE N: holds N POSIX record locks on FILE (every other byte, so
   that none merge) until killed, as a database or file server holds
   many: each is a line of /proc/locks. Says "ready" once they are all
   held. Built by bench-links, never installed. */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>
int main(int argc, char **argv) {
    if (argc != 3) return 100;
    int fd = open(argv[1], O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (fd < 0) return 111;
    long n = atol(argv[2]);
    for (long i = 0; i < n; i++) {
        struct flock l = {.l_type = F_WRLCK, .l_whence = SEEK_SET, .l_start = 2 * i, .l_len = 1};
        if (fcntl(fd, F_SETLK, &l) < 0) return 111;
    }
    puts("ready");
    fflush(stdout);
    for (;;) pause();
}
