/* LF_OUTPUT_CALLBACK: the body goes to the caller's body callback chunk by chunk, as libcurl
 * hands it to us, and nothing is kept. Back-pressure without buffering: when the callback
 * pauses, the next chunk libcurl offers is refused with CURL_WRITEFUNC_PAUSE, so libcurl keeps
 * it and stops reading the socket; lf_stream_resume() unpauses it on the next loop turn, where
 * libcurl hands the same chunk again. A stream handle is its transfer. */
#include "internal.h"

static lf__transfer_t *transfer_of(const lf_stream_t *stream) {
  return (lf__transfer_t *)(void *)stream;
}

int lf__stream_write(lf__sink_t *s, const char *data, size_t len) {
  lf__transfer_t *t = s->transfer;
  lf_fetcher_t *f = t->fetcher;
  if (s->cb_paused) { /* libcurl keeps these bytes and offers them again after the resume */
    s->cb_held = 1;
    return 1;
  }
  s->cb_held = 0;
  if (!f->on_body) { /* cleared with lf_fetcher_set_body_cb(f, NULL) after the add */
    lf__transfer_set_error(t, LF_EINVAL, "no body callback for the stream");
    return LF_EINVAL;
  }
  f->in_body++;
  int rc = f->on_body(f, (lf_stream_t *)(void *)t, data, len);
  f->in_body--;
  if (rc == LF_STREAM_PAUSE) s->cb_paused = 1;
  if (rc == LF_STREAM_CONTINUE || rc == LF_STREAM_PAUSE) return 0; /* the chunk is taken */
  if (rc > 0) rc = LF_EINVAL;
  lf__transfer_set_error(t, rc, "the body callback stopped the transfer: %s", lf_strerror(rc));
  return rc;
}

int lf_stream_resume(lf_stream_t *stream) {
  lf__transfer_t *t = transfer_of(stream);
  if (!t || t->sink.kind != LF_OUTPUT_CALLBACK) return LF_EINVAL;
  lf__sink_t *s = &t->sink;
  if (!s->cb_paused) return 0;
  s->cb_paused = 0;
  /* Nothing held yet: libcurl never stopped, and the next chunk goes straight through. */
  if (!s->cb_held || !t->easy) return 0;
  /* Not here: unpausing makes libcurl hand the held chunk to the body callback at once, and
   * the caller may be inside another callback of ours (or libcurl's). */
  s->cb_resume = 1;
  lf__fetcher_wake_now(t->fetcher);
  return 0;
}

/* From the wake timer, outside libcurl. curl_easy_pause() may deliver the held chunk (and the
 * callback pause again) before it returns; the transfer's end comes only through libcurl's
 * messages, so the list stays as it is while we walk it. */
void lf__stream_resume_due(lf_fetcher_t *f) {
  int resumed = 0;
  for (lf__transfer_t *t = f->active; t; t = t->next) {
    if (!t->sink.cb_resume) continue;
    t->sink.cb_resume = 0;
    if (!t->easy || t->sink.cb_paused) continue; /* over, or paused again by now */
    t->sink.cb_held = 0;
    CURLcode rc = curl_easy_pause(t->easy, CURLPAUSE_CONT);
    if (rc != CURLE_OK)
      lf__transfer_set_error(t, LF_ECURL, "curl_easy_pause: %s", curl_easy_strerror(rc));
    resumed = 1;
  }
  /* Let libcurl run the resumed transfers now rather than on a tick of its own. Measured over
   * HTTP/2 from nginx (e2e_lib.py stream_sha256_h2: 16 pages, ~680 pauses): 0.42-0.58 s with
   * this, 0.42-0.50 s without, so libcurl 7.88's own "run now" timer sufficed there; the call
   * stays as a cheap guarantee against the 1 s tick sink.c saw (lf__loop_kick). */
  if (resumed) lf__loop_kick(f);
}

void *lf_stream_get_data(const lf_stream_t *stream) {
  return transfer_of(stream)->req->data;
}

const char *lf_stream_get_url(const lf_stream_t *stream) {
  return transfer_of(stream)->req->url;
}

const char *lf_stream_get_content_type(const lf_stream_t *stream) {
  const lf__transfer_t *t = transfer_of(stream);
  char *type = NULL;
  if (!t->easy) return t->content_type; /* the network part is over: the copy kept for it */
  return curl_easy_getinfo(t->easy, CURLINFO_CONTENT_TYPE, &type) == CURLE_OK ? type : NULL;
}
