// OpenBLAS's CBLAS interface (Debian: libopenblas-dev, which also provides
// openblas_set_num_threads / openblas_get_num_threads).
#include <cblas.h>

// LAPACK (OpenBLAS exports it): symmetric positive-definite solve by
// Cholesky, for ridge regression's normal equations. Fortran calling
// convention, 32-bit integers (Debian's default LP64 OpenBLAS).
void sposv_(char *uplo, int *n, int *nrhs, float *a, int *lda, float *b, int *ldb, int *info);

// LAPACK: selected eigenvalues and eigenvectors of a symmetric matrix (MRRR),
// for the search index's principal axes. Same convention as above.
void ssyevr_(char *jobz, char *range, char *uplo, int *n, float *a, int *lda, float *vl, float *vu,
             int *il, int *iu, float *abstol, int *m, float *w, float *z, int *ldz, int *isuppz,
             float *work, int *lwork, int *iwork, int *liwork, int *info);
