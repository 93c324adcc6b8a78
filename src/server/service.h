/* The service between the routes and the jobs. One call turns a parsed
 * request into its answer: from the cache, by joining an identical job in
 * flight (coalescing), or as a new job on the scheduler; it counts the cache
 * outcome (the cache's statistics and /metrics) in this one place. Every
 * engine run goes through the scheduler, progressive levels included (as
 * previews of the stream's job). The route handlers parse the request, call
 * orfeas_service_generate, and respond from its answer. */
#ifndef ORFEAS_SERVER_SERVICE_H
#define ORFEAS_SERVER_SERVICE_H

#include "orfeas/jobs.h"
#include "orfeas/server.h"

struct orfeas_cache_entry;

typedef enum orfeas_service_mode {
    /* The caller waits for the job (orfeas_service_wait) and answers with
     * its bytes; a cached result answers at once (POST /generate). */
    ORFEAS_SERVICE_SYNC = 0,
    /* The caller answers with the job and the client polls: the job is
     * pinned (nobody abandons it). A cached result answers with the job that
     * made it while that job is still known (POST /jobs). */
    ORFEAS_SERVICE_ASYNC,
    /* A new job on this node, uncached and never shared, with previews at
     * the parameters given (POST /generate-progressive). */
    ORFEAS_SERVICE_STREAM,
} orfeas_service_mode;

#define ORFEAS_SERVICE_MAX_PREVIEWS ORFEAS_SCHEDULER_MAX_PREVIEWS

typedef struct orfeas_service_request {
    orfeas_service_mode mode;
    /* Parameters and inputs: taken over (zeroed) whatever the outcome. */
    orfeas_job_request job;
    /* STREAM: the previews' parameters, coarse first. */
    orfeas_params previews[ORFEAS_SERVICE_MAX_PREVIEWS];
    int preview_count;
} orfeas_service_request;

typedef enum orfeas_service_source {
    ORFEAS_SERVICE_MISS = 0, /* a new job */
    ORFEAS_SERVICE_COALESCED,
    ORFEAS_SERVICE_HIT,
} orfeas_service_source;

/* What the route answers from. Released with orfeas_service_answer_release
 * (the references it holds), also after an error. */
typedef struct orfeas_service_answer {
    int error;           /* 0, or the ORFEAS_E* code to answer with */
    const char *message; /* with error: static text, or NULL for the code's own */
    orfeas_service_source source;
    const char *cache;                /* "hit", "miss" or "coalesced" (X-Orfeas-Cache) */
    struct orfeas_cache_entry *entry; /* a SYNC hit: the cached result */
    orfeas_job *job;                  /* otherwise: the job */
    orfeas_job_snapshot snap;         /* the entry's or the job's, when answered */
    orfeas_job *previews[ORFEAS_SERVICE_MAX_PREVIEWS]; /* STREAM */
    int preview_count;
} orfeas_service_answer;

/* Fills *out (zeroed first); returns out->error. */
int orfeas_service_generate(orfeas_server *s, orfeas_service_request *req,
                            orfeas_service_answer *out);

/* Waits for a job, asking gone(ud) between slices of slice_ms whether the
 * caller gave up; then a SYNC caller abandons the job (it is cancelled only
 * when nobody else waits for it), any other cancels it, and the wait goes
 * on to the job's end. 0 when it finished, ORFEAS_ECANCELLED when given up. */
int orfeas_service_wait(orfeas_server *s, orfeas_service_mode mode, orfeas_job *job, int slice_ms,
                        int (*gone)(void *ud), void *ud);

void orfeas_service_answer_release(orfeas_service_answer *a);

#endif
