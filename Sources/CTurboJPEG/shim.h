// libjpeg-turbo's TurboJPEG API (Debian: libturbojpeg0-dev): errors come
// back as return codes, so no longjmp crosses into Swift.
#include <turbojpeg.h>
