#ifndef FASTBACKUP_CCURL_SHIM_H
#define FASTBACKUP_CCURL_SHIM_H
#include <curl/curl.h>
#include <dlfcn.h>
#include <stddef.h>

/* libcurl is loaded with dlopen the first time the object store is used, not linked: linked,
   it and the 26 libraries it needs were mapped into every run (+4.3 MB of RSS and +3 ms for
   `fastbackup --help`, measured), backups to local disk included. Only HTTPConnection.swift
   calls these functions, so the one copy of `fb_curl` their file gets is the only one.

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

/* The table lives in a function: a static variable of the header itself is not emitted into
   the Swift module's object, a function's static local is, with the function. */
static inline struct fb_curl_api *fb_curl_table(void) {
    static struct fb_curl_api table;
    return &table;
}
#define fb_curl (*fb_curl_table())

/* Loads libcurl and initialises it; 1 on success. Call once, before any other function here. */
static inline int fb_curl_load(void) {
    if (fb_curl.easy_init) return 1;
    void *h = dlopen("libcurl.so.4", RTLD_NOW | RTLD_LOCAL);
    if (!h) return 0;
    fb_curl.global_init = (CURLcode (*)(long))dlsym(h, "curl_global_init");
    fb_curl.easy_cleanup = (void (*)(CURL *))dlsym(h, "curl_easy_cleanup");
    fb_curl.easy_reset = (void (*)(CURL *))dlsym(h, "curl_easy_reset");
    fb_curl.easy_perform = (CURLcode (*)(CURL *))dlsym(h, "curl_easy_perform");
    fb_curl.easy_setopt = (CURLcode (*)(CURL *, CURLoption, ...))dlsym(h, "curl_easy_setopt");
    fb_curl.easy_getinfo = (CURLcode (*)(CURL *, CURLINFO, ...))dlsym(h, "curl_easy_getinfo");
    fb_curl.easy_strerror = (const char *(*)(CURLcode))dlsym(h, "curl_easy_strerror");
    fb_curl.slist_append = (struct curl_slist *(*)(struct curl_slist *, const char *))dlsym(h, "curl_slist_append");
    fb_curl.slist_free_all = (void (*)(struct curl_slist *))dlsym(h, "curl_slist_free_all");
    CURL *(*init)(void) = (CURL *(*)(void))dlsym(h, "curl_easy_init");
    if (!fb_curl.global_init || !fb_curl.easy_cleanup || !fb_curl.easy_reset || !fb_curl.easy_perform
        || !fb_curl.easy_setopt || !fb_curl.easy_getinfo || !fb_curl.easy_strerror || !fb_curl.slist_append
        || !fb_curl.slist_free_all || !init) return 0;
    if (fb_curl.global_init(CURL_GLOBAL_ALL) != CURLE_OK) return 0;
    fb_curl.easy_init = init;
    return 1;
}

static inline CURL *fb_curl_easy_init(void) { return fb_curl.easy_init(); }
static inline void fb_curl_easy_cleanup(CURL *h) { fb_curl.easy_cleanup(h); }
static inline void fb_curl_easy_reset(CURL *h) { fb_curl.easy_reset(h); }
static inline CURLcode fb_curl_easy_perform(CURL *h) { return fb_curl.easy_perform(h); }
static inline const char *fb_curl_easy_strerror(CURLcode c) { return fb_curl.easy_strerror(c); }
static inline struct curl_slist *fb_curl_slist_append(struct curl_slist *l, const char *s) { return fb_curl.slist_append(l, s); }
static inline void fb_curl_slist_free_all(struct curl_slist *l) { fb_curl.slist_free_all(l); }

static inline CURLcode fb_curl_set_long(CURL *h, CURLoption o, long v) { return fb_curl.easy_setopt(h, o, v); }
static inline CURLcode fb_curl_set_off(CURL *h, CURLoption o, curl_off_t v) { return fb_curl.easy_setopt(h, o, v); }
static inline CURLcode fb_curl_set_string(CURL *h, CURLoption o, const char *v) { return fb_curl.easy_setopt(h, o, v); }
static inline CURLcode fb_curl_set_pointer(CURL *h, CURLoption o, void *v) { return fb_curl.easy_setopt(h, o, v); }
static inline CURLcode fb_curl_set_function(CURL *h, CURLoption o, fb_curl_data_fn f) { return fb_curl.easy_setopt(h, o, f); }
static inline CURLcode fb_curl_get_long(CURL *h, CURLINFO i, long *v) { return fb_curl.easy_getinfo(h, i, v); }
#endif
