/* A wasi-libc guest with a warm-start init (docs/PROTOCOL.md §15), for
 * tests/tests/warm_start.rs: C as the protocol docs show it, without a kit.
 *
 * The init (the export `wasplug_init`) builds a table; `main` builds it only
 * if no init did. Each call reads one request line and answers id 1 with
 * [table[999], calls, warm]: the table's last entry, how many requests this
 * instance has read (1: no call sees another's), and whether the table was
 * there before `main` ran (1 with a warm start, 0 without). */
#include <stdio.h>
#include <stdlib.h>

static int *table;
static int calls;

static void build(void) {
    if (table) return;
    table = malloc(1000 * sizeof *table);
    if (!table) abort();
    for (int i = 0; i < 1000; i++) table[i] = i * i;
}

__attribute__((export_name("wasplug_init"))) void init(void) {
    fprintf(stderr, "init: building the table\n");
    build();
}

int main(void) {
    int warm = table != NULL;
    char line[4096];
    build();
    if (fgets(line, sizeof line, stdin) == NULL) return 1;
    calls++;
    printf("{\"jsonrpc\":\"2.0\",\"id\":1,\"result\":[%d,%d,%d]}\n", table[999], calls, warm);
    return fflush(stdout) == 0 ? 0 : 1;
}
