/* Writes the served OpenAPI document (orfeas_openapi_json) to stdout, or
 * with --params / --errors / --paths the names it must cover, one per line,
 * taken from the tables themselves (tests/test_openapi.sh). */
#include "orfeas/orfeas.h"
#include "server/openapi.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int main(int argc, char **argv)
{
    if (argc == 2 && strcmp(argv[1], "--params") == 0) {
        for (const orfeas_param_desc *p = orfeas_params_table(); p->name; p++)
            printf("%s\n", p->name);
        return 0;
    }
    if (argc == 2 && strcmp(argv[1], "--errors") == 0) {
#define PRINT_CODE_(name, code, http, exit_status, msg) printf("%s\n", #code);
        ORFEAS_ERROR_MAP(PRINT_CODE_)
#undef PRINT_CODE_
        return 0;
    }
    char *json = NULL;
    if (orfeas_openapi_json(&json)) {
        fprintf(stderr, "openapi_dump: cannot build the document\n");
        return 1;
    }
    fputs(json, stdout);
    free(json);
    return 0;
}
