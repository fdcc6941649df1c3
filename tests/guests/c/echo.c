/* A wasi-libc guest for the wasplug integration tests (tests/tests/wasi_guests/).
 *
 * Reads stdin line by line, echoes each line to stdout (flushed at once, so the
 * output follows the input) and logs "got N bytes" per line to stderr. At end of
 * input it logs "eof after N lines" and exits 0. */
#include <stdio.h>
#include <string.h>

int main(void) {
    char line[4096];
    unsigned long lines = 0;
    while (fgets(line, sizeof line, stdin) != NULL) {
        size_t n = strlen(line);
        if (fwrite(line, 1, n, stdout) != n || fflush(stdout) != 0) {
            fprintf(stderr, "write failed\n");
            return 1;
        }
        fprintf(stderr, "got %zu bytes\n", n);
        lines++;
    }
    if (ferror(stdin)) {
        fprintf(stderr, "read failed\n");
        return 1;
    }
    fprintf(stderr, "eof after %lu lines\n", lines);
    return 0;
}
