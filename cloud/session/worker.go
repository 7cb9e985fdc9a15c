package session

import (
	"context"
	"time"

	"github.com/mvnet/mvnet/link"
)

// Relayed HTTP requests run on reused goroutines. A request's goroutine
// goes deep into net/http and crypto/tls, so a fresh goroutine per request
// spent its time growing (copying) its stack (issue 11: 6 % of the CPU). A
// worker that finished a request waits workerIdle for the next one, from
// any session, before it exits: a busy cloud keeps a few warm workers, an
// idle one none.

// workerIdle is how long a worker waits for another request.
const workerIdle = 2 * time.Second

// httpWork is one request for a worker: Session.runRequest's arguments,
// the request by value (handed over by copy, it needs no allocation).
type httpWork struct {
	s   *Session
	ctx context.Context
	ch  *channel
	req link.HTTPRequest
}

// idleWorkers hands a request to a waiting worker; unbuffered, so a request
// is never queued behind another.
var idleWorkers = make(chan httpWork)

// goRequest runs s.runRequest(ctx, ch, req) on an idle worker, or on a new
// one if none is waiting.
func (s *Session) goRequest(ctx context.Context, ch *channel, req *link.HTTPRequest) {
	w := httpWork{s, ctx, ch, *req}
	select {
	case idleWorkers <- w:
	default:
		go worker(w)
	}
}

// worker runs w, then the requests handed to it until it has waited
// workerIdle for one. It keeps no reference to a finished request (its
// session would stay in memory while the worker waits).
func worker(w httpWork) {
	w.run()
	t := time.NewTimer(workerIdle)
	defer t.Stop()
	for {
		select {
		case w := <-idleWorkers:
			w.run()
			t.Reset(workerIdle)
		case <-t.C:
			return
		}
	}
}

func (w *httpWork) run() { w.s.runRequest(w.ctx, w.ch, &w.req) }
