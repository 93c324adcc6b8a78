#include "shape/gmm.h"

#include <math.h>
#include <string.h>

typedef struct gmm_stats {
    double count;
    double sum[3];
    double sq[6]; /* xx xy xz yy yz zz */
} gmm_stats;

static void accumulate(gmm_stats *st, int k, const float *samples, size_t n, const uint8_t *select,
                       uint8_t want, const uint8_t *comp)
{
    memset(st, 0, (size_t)k * sizeof *st);
    for (size_t i = 0; i < n; i++) {
        if (select && select[i] != want) continue;
        gmm_stats *s = &st[comp[i]];
        double r = samples[3 * i], g = samples[3 * i + 1], b = samples[3 * i + 2];
        s->count += 1;
        s->sum[0] += r;
        s->sum[1] += g;
        s->sum[2] += b;
        s->sq[0] += r * r;
        s->sq[1] += r * g;
        s->sq[2] += r * b;
        s->sq[3] += g * g;
        s->sq[4] += g * b;
        s->sq[5] += b * b;
    }
}

/* Mean and covariance (row-major 3x3) of one cluster. */
static void moments(const gmm_stats *s, double mean[3], double cov[9], double var_floor)
{
    double inv_n = 1.0 / s->count;
    for (int c = 0; c < 3; c++)
        mean[c] = s->sum[c] * inv_n;
    static const int idx[3][3] = {{0, 1, 2}, {1, 3, 4}, {2, 4, 5}};
    for (int r = 0; r < 3; r++)
        for (int c = 0; c < 3; c++)
            cov[3 * r + c] = s->sq[idx[r][c]] * inv_n - mean[r] * mean[c];
    for (int c = 0; c < 3; c++)
        cov[4 * c] += var_floor;
}

/* Largest eigenvalue and its eigenvector of a symmetric PSD 3x3 matrix by
 * power iteration (deterministic; 3x3 so a fixed count is plenty). */
static double principal_axis(const double cov[9], double e[3])
{
    int start = 0;
    for (int c = 1; c < 3; c++)
        if (cov[4 * c] > cov[4 * start]) start = c;
    for (int c = 0; c < 3; c++)
        e[c] = cov[3 * start + c];
    double lambda = 0;
    for (int it = 0; it < 40; it++) {
        double v[3];
        for (int r = 0; r < 3; r++)
            v[r] = cov[3 * r] * e[0] + cov[3 * r + 1] * e[1] + cov[3 * r + 2] * e[2];
        double norm = sqrt(v[0] * v[0] + v[1] * v[1] + v[2] * v[2]);
        if (norm < 1e-12) return 0;
        lambda = norm;
        for (int c = 0; c < 3; c++)
            e[c] = v[c] / norm;
    }
    return lambda;
}

void orfeas_gmm_learn(orfeas_gmm *gmm, const float *samples, size_t n, const uint8_t *select,
                      uint8_t want, const uint8_t *comp, double var_floor)
{
    gmm_stats st[ORFEAS_GMM_MAX_K];
    accumulate(st, gmm->k, samples, n, select, want, comp);
    double total = 0;
    for (int c = 0; c < gmm->k; c++)
        total += st[c].count;
    for (int c = 0; c < gmm->k; c++) {
        orfeas_gmm_component *m = &gmm->comp[c];
        memset(m, 0, sizeof *m);
        if (st[c].count < 1) continue;
        double cov[9];
        moments(&st[c], m->mean, cov, var_floor);
        double det = cov[0] * (cov[4] * cov[8] - cov[5] * cov[7]) -
                     cov[1] * (cov[3] * cov[8] - cov[5] * cov[6]) +
                     cov[2] * (cov[3] * cov[7] - cov[4] * cov[6]);
        /* The floor keeps det >= var_floor^3 in exact arithmetic; guard rounding. */
        if (!(det > 1e-12)) continue;
        double id = 1.0 / det;
        m->inv[0] = (cov[4] * cov[8] - cov[5] * cov[7]) * id;
        m->inv[1] = (cov[2] * cov[7] - cov[1] * cov[8]) * id;
        m->inv[2] = (cov[1] * cov[5] - cov[2] * cov[4]) * id;
        m->inv[3] = (cov[5] * cov[6] - cov[3] * cov[8]) * id;
        m->inv[4] = (cov[0] * cov[8] - cov[2] * cov[6]) * id;
        m->inv[5] = (cov[2] * cov[3] - cov[0] * cov[5]) * id;
        m->inv[6] = (cov[3] * cov[7] - cov[4] * cov[6]) * id;
        m->inv[7] = (cov[1] * cov[6] - cov[0] * cov[7]) * id;
        m->inv[8] = (cov[0] * cov[4] - cov[1] * cov[3]) * id;
        m->weight = st[c].count / total;
        m->log_norm = log(m->weight) - 0.5 * log(det) - 1.5 * log(2 * M_PI);
    }
}

size_t orfeas_gmm_init(orfeas_gmm *gmm, int k, const float *samples, size_t n,
                       const uint8_t *select, uint8_t want, uint8_t *comp, double var_floor)
{
    if (k < 1) k = 1;
    if (k > ORFEAS_GMM_MAX_K) k = ORFEAS_GMM_MAX_K;
    memset(gmm, 0, sizeof *gmm);
    gmm->k = k;
    size_t count = 0;
    for (size_t i = 0; i < n; i++) {
        if (select && select[i] != want) continue;
        comp[i] = 0;
        count++;
    }
    for (int s = 1; s < k; s++) {
        gmm_stats st[ORFEAS_GMM_MAX_K];
        accumulate(st, s, samples, n, select, want, comp);
        int split = -1;
        double best = 1e-3, axis[3] = {0, 0, 0}, mean_split[3] = {0, 0, 0};
        for (int c = 0; c < s; c++) {
            if (st[c].count < 2) continue;
            double mean[3], cov[9], e[3];
            moments(&st[c], mean, cov, 0);
            double lambda = principal_axis(cov, e);
            if (lambda > best) {
                best = lambda;
                split = c;
                memcpy(axis, e, sizeof axis);
                memcpy(mean_split, mean, sizeof mean_split);
            }
        }
        if (split < 0) break; /* every cluster is flat: fewer components */
        for (size_t i = 0; i < n; i++) {
            if ((select && select[i] != want) || comp[i] != split) continue;
            const float *x = &samples[3 * i];
            double d = (x[0] - mean_split[0]) * axis[0] + (x[1] - mean_split[1]) * axis[1] +
                       (x[2] - mean_split[2]) * axis[2];
            if (d > 0) comp[i] = (uint8_t)s;
        }
    }
    orfeas_gmm_learn(gmm, samples, n, select, want, comp, var_floor);
    return count;
}

double orfeas_gmm_mahalanobis2(const orfeas_gmm *gmm, int k, const float x[3])
{
    const orfeas_gmm_component *m = &gmm->comp[k];
    double d0 = x[0] - m->mean[0], d1 = x[1] - m->mean[1], d2 = x[2] - m->mean[2];
    const double *iv = m->inv;
    return d0 * (iv[0] * d0 + iv[1] * d1 + iv[2] * d2) +
           d1 * (iv[3] * d0 + iv[4] * d1 + iv[5] * d2) +
           d2 * (iv[6] * d0 + iv[7] * d1 + iv[8] * d2);
}

double orfeas_gmm_nll(const orfeas_gmm *gmm, const float x[3], int *best)
{
    double min = INFINITY;
    int arg = 0;
    for (int c = 0; c < gmm->k; c++) {
        const orfeas_gmm_component *m = &gmm->comp[c];
        if (m->weight <= 0) continue;
        double d0 = x[0] - m->mean[0], d1 = x[1] - m->mean[1], d2 = x[2] - m->mean[2];
        const double *iv = m->inv;
        double q = d0 * (iv[0] * d0 + iv[1] * d1 + iv[2] * d2) +
                   d1 * (iv[3] * d0 + iv[4] * d1 + iv[5] * d2) +
                   d2 * (iv[6] * d0 + iv[7] * d1 + iv[8] * d2);
        double v = 0.5 * q - m->log_norm;
        if (v < min) {
            min = v;
            arg = c;
        }
    }
    if (best) *best = arg;
    return min;
}
