#include "orfeas/orfeas.h"
#include <stdio.h>
int main(void)
{
    printf("orfeas %s\n", ORFEAS_ENGINE_VERSION);
    return 0;
}
