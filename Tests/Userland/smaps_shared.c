/*
 * smaps_shared PID NAME: sums the smaps fields of process PID's executable
 * mappings (r-xp) of a file whose path contains NAME, and prints
 *     NAME text: rss=K shared_clean=K shared_dirty=K private_clean=K private_dirty=K (kB)
 * A boot test starts 20 processes of one dynamically linked program and asks
 * this about libc: every page of its text is the same page-cache page in all
 * of them, so it must all be Shared_Clean, on Keel as on Linux.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int main(int argc, char **argv)
{
    if (argc != 3) {
        fprintf(stderr, "usage: smaps_shared PID NAME\n");
        return 2;
    }
    char path[64];
    snprintf(path, sizeof path, "/proc/%s/smaps", argv[1]);
    FILE *f = fopen(path, "r");
    if (!f) {
        perror(path);
        return 1;
    }
    char line[512];
    int in = 0, found = 0;
    long rss = 0, sc = 0, sd = 0, pc = 0, pd = 0;
    while (fgets(line, sizeof line, f)) {
        unsigned long start, end;
        char perms[8];
        if (sscanf(line, "%lx-%lx %7s", &start, &end, perms) == 3 && strchr(line, ' ')) {
            in = strcmp(perms, "r-xp") == 0 && strstr(line, argv[2]) != NULL;
            found += in;
            continue;
        }
        if (!in) continue;
        long value;
        if (sscanf(line, "Rss: %ld", &value) == 1) rss += value;
        else if (sscanf(line, "Shared_Clean: %ld", &value) == 1) sc += value;
        else if (sscanf(line, "Shared_Dirty: %ld", &value) == 1) sd += value;
        else if (sscanf(line, "Private_Clean: %ld", &value) == 1) pc += value;
        else if (sscanf(line, "Private_Dirty: %ld", &value) == 1) pd += value;
    }
    fclose(f);
    if (!found) {
        printf("%s text: no r-xp mapping in %s\n", argv[2], path);
        return 1;
    }
    printf("%s text: rss=%ld shared_clean=%ld shared_dirty=%ld private_clean=%ld private_dirty=%ld\n", argv[2], rss,
           sc, sd, pc, pd);
    return 0;
}
