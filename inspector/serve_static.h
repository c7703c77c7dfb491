/*
 * serve_static.h: the viewer's own files (web/: index.html, app.js,
 * style.css, ...) for `heapsnap serve`: where they are, answering a
 * request for one of them, and reading a file whole into a reply (for
 * the pictures of serve_svg.c too).
 *
 * Only plain file names directly inside the web folder are served, with a
 * content type from a fixed table of extensions; anything else (a '/', a
 * leading '.', an unknown extension, a symlink at the name) is "no such
 * file".  So no request can name a file outside the folder, encoded or
 * not.
 */
#ifndef HS_SERVE_STATIC_H
#define HS_SERVE_STATIC_H

#include "serve_api.h"

#include <sys/types.h>

/*
 * The folder of the viewer's files, malloc'd: the first of
 * `hs_exe_dir()/../web` (the source tree, for build/heapsnap) and
 * `hs_exe_dir()/../share/heapsnap/web` (after `make install`) that holds
 * index.html.  NULL after an error (exit 4) naming the places looked at.
 */
char *hs_serve_web_dir(void);

/*
 * Fills `out` with the file `name` of `web_dir`: 200 and its bytes, 404
 * when there is no such servable file, 500 when it cannot be read.
 * O(file size); files above 16 MiB are refused (500).
 */
void hs_serve_static(const char *web_dir, const char *name,
                     struct hs_serve_reply *out);

/*
 * Reads the regular file open on `fd` whole into out's body and length,
 * and closes fd.  0; or -1 with errno EINVAL (not a regular file, or
 * above `max` bytes) or EIO (a short read).  O(file size).
 */
int hs_serve_read_fd(int fd, off_t max, struct hs_serve_reply *out);

#endif /* HS_SERVE_STATIC_H */
