/* The OpenAPI 3.0 description of the HTTP API, built from the parameter and
 * error tables so that it never drifts from what the server accepts. */
#ifndef ORFEAS_SERVER_OPENAPI_H
#define ORFEAS_SERVER_OPENAPI_H

/* The document as compact JSON (malloc'd; the caller frees). 0 or
 * ORFEAS_ENOMEM. */
int orfeas_openapi_json(char **out);

#endif
