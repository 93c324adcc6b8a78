/* Gaussian mixture colour model with full 3x3 covariances, fitted by hard
 * assignment as in GrabCut (Rother et al. 2004): every sample belongs to one
 * component. Initialised deterministically by Orchard-Bouman splitting (the
 * cluster with the largest variance is split along its principal axis). */
#ifndef ORFEAS_SHAPE_GMM_H
#define ORFEAS_SHAPE_GMM_H

#include <stddef.h>
#include <stdint.h>

#define ORFEAS_GMM_MAX_K 16

typedef struct orfeas_gmm_component {
    double weight; /* fraction of the samples; 0 = unused */
    double mean[3];
    double inv[9];   /* inverse covariance */
    double log_norm; /* log(weight) - log det(cov)/2 - 3/2 log(2 pi) */
} orfeas_gmm_component;

typedef struct orfeas_gmm {
    int k;
    orfeas_gmm_component comp[ORFEAS_GMM_MAX_K];
} orfeas_gmm;

/* Samples are n colour triplets (float). select[i] == want picks sample i
 * (select may be NULL: all samples). comp receives the component of every
 * selected sample (others are left alone). var_floor is added to the
 * covariance diagonal so flat regions stay finite. Returns the number of
 * selected samples. */
size_t orfeas_gmm_init(orfeas_gmm *gmm, int k, const float *samples, size_t n,
                       const uint8_t *select, uint8_t want, uint8_t *comp, double var_floor);
/* Re-estimates the parameters from the hard assignment comp. */
void orfeas_gmm_learn(orfeas_gmm *gmm, const float *samples, size_t n, const uint8_t *select,
                      uint8_t want, const uint8_t *comp, double var_floor);
/* min over components of -log(weight_k N_k(x)); *best gets the argmin. */
double orfeas_gmm_nll(const orfeas_gmm *gmm, const float x[3], int *best);

/* Squared Mahalanobis distance of x to component k. */
double orfeas_gmm_mahalanobis2(const orfeas_gmm *gmm, int k, const float x[3]);

#endif
