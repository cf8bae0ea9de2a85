// oneDNN's C API (Debian: libdnnl-dev, oneDNN 2.6 built with OpenMP
// threading), for the transformers' bfloat16 matrix products.
#include <oneapi/dnnl/dnnl.h>

// libgomp (oneDNN's threading runtime): the number of threads the calling
// thread's next parallel regions use. revsd splits each product over its own
// pool, so every oneDNN call runs on the thread that makes it.
void omp_set_num_threads(int);
static inline void revsd_omp_single_thread(void) { omp_set_num_threads(1); }
