// OpenBLAS's CBLAS interface (Debian: libopenblas-dev, which also provides
// openblas_set_num_threads / openblas_get_num_threads).
#include <cblas.h>
