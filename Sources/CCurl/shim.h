#ifndef FASTBACKUP_CCURL_SHIM_H
#define FASTBACKUP_CCURL_SHIM_H
#include <curl/curl.h>
#include <dlfcn.h>
#include <stddef.h>
#include <stdlib.h>

/* libcurl is loaded with dlopen the first time the object store is used, not linked: linked,
   it and the 26 libraries it needs were mapped into every run (+4.3 MB of RSS and +3 ms for
   `fastbackup --help`, measured), backups to local disk included.

   curl_easy_setopt and curl_easy_getinfo are variadic, which Swift cannot call: one typed
   wrapper per argument type. */
typedef size_t (*fb_curl_data_fn)(char *ptr, size_t size, size_t count, void *userdata);

struct fb_curl_api {
    CURLcode (*global_init)(long);
    CURL *(*easy_init)(void);
    void (*easy_cleanup)(CURL *);
    void (*easy_reset)(CURL *);
    CURLcode (*easy_perform)(CURL *);
    CURLcode (*easy_setopt)(CURL *, CURLoption, ...);
    CURLcode (*easy_getinfo)(CURL *, CURLINFO, ...);
    const char *(*easy_strerror)(CURLcode);
    struct curl_slist *(*slist_append)(struct curl_slist *, const char *);
    void (*slist_free_all)(struct curl_slist *);
};

/* Loads libcurl and initialises it; the table of its functions, or NULL. Call once and keep
   the table (one Swift static does): it is allocated here and never freed, and it is passed to
   every wrapper below instead of living in a static of this header. A static of a header's
   inline function is copied into every module that inlines it (Swift's cross-module
   optimisation inlined HTTPConnection into the command line's module), and one copy was
   filled while another was read: range downloads then found "no libcurl" and fell back to
   one connection. */
static inline struct fb_curl_api *fb_curl_load(void) {
    void *h = dlopen("libcurl.so.4", RTLD_NOW | RTLD_LOCAL);
    if (!h) return NULL;
    struct fb_curl_api *t = (struct fb_curl_api *)calloc(1, sizeof *t);
    if (!t) return NULL;
    t->global_init = (CURLcode (*)(long))dlsym(h, "curl_global_init");
    t->easy_init = (CURL *(*)(void))dlsym(h, "curl_easy_init");
    t->easy_cleanup = (void (*)(CURL *))dlsym(h, "curl_easy_cleanup");
    t->easy_reset = (void (*)(CURL *))dlsym(h, "curl_easy_reset");
    t->easy_perform = (CURLcode (*)(CURL *))dlsym(h, "curl_easy_perform");
    t->easy_setopt = (CURLcode (*)(CURL *, CURLoption, ...))dlsym(h, "curl_easy_setopt");
    t->easy_getinfo = (CURLcode (*)(CURL *, CURLINFO, ...))dlsym(h, "curl_easy_getinfo");
    t->easy_strerror = (const char *(*)(CURLcode))dlsym(h, "curl_easy_strerror");
    t->slist_append = (struct curl_slist *(*)(struct curl_slist *, const char *))dlsym(h, "curl_slist_append");
    t->slist_free_all = (void (*)(struct curl_slist *))dlsym(h, "curl_slist_free_all");
    if (!t->global_init || !t->easy_init || !t->easy_cleanup || !t->easy_reset || !t->easy_perform
        || !t->easy_setopt || !t->easy_getinfo || !t->easy_strerror || !t->slist_append || !t->slist_free_all
        || t->global_init(CURL_GLOBAL_ALL) != CURLE_OK) {
        free(t);
        return NULL;
    }
    return t;
}

typedef const struct fb_curl_api *fb_curl_t;
static inline CURL *fb_curl_easy_init(fb_curl_t a) { return a->easy_init(); }
static inline void fb_curl_easy_cleanup(fb_curl_t a, CURL *h) { a->easy_cleanup(h); }
static inline void fb_curl_easy_reset(fb_curl_t a, CURL *h) { a->easy_reset(h); }
static inline CURLcode fb_curl_easy_perform(fb_curl_t a, CURL *h) { return a->easy_perform(h); }
static inline const char *fb_curl_easy_strerror(fb_curl_t a, CURLcode c) { return a->easy_strerror(c); }
static inline struct curl_slist *fb_curl_slist_append(fb_curl_t a, struct curl_slist *l, const char *s) { return a->slist_append(l, s); }
static inline void fb_curl_slist_free_all(fb_curl_t a, struct curl_slist *l) { a->slist_free_all(l); }

static inline CURLcode fb_curl_set_long(fb_curl_t a, CURL *h, CURLoption o, long v) { return a->easy_setopt(h, o, v); }
static inline CURLcode fb_curl_set_off(fb_curl_t a, CURL *h, CURLoption o, curl_off_t v) { return a->easy_setopt(h, o, v); }
static inline CURLcode fb_curl_set_string(fb_curl_t a, CURL *h, CURLoption o, const char *v) { return a->easy_setopt(h, o, v); }
static inline CURLcode fb_curl_set_pointer(fb_curl_t a, CURL *h, CURLoption o, void *v) { return a->easy_setopt(h, o, v); }
static inline CURLcode fb_curl_set_function(fb_curl_t a, CURL *h, CURLoption o, fb_curl_data_fn f) { return a->easy_setopt(h, o, f); }
static inline CURLcode fb_curl_get_long(fb_curl_t a, CURL *h, CURLINFO i, long *v) { return a->easy_getinfo(h, i, v); }
#endif
