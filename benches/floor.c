/* The floor a chainloader can reach: a static program that only execs
   the rest of its argv. Built by bench-links, never installed. */
#include <unistd.h>
int main(int argc, char **argv) {
    (void)argc;
    execv(argv[1], argv + 1);
    return 111;
}
