package gateway

import (
	"context"
	"encoding/json"
	"net/http"
	"strconv"
	"time"

	"github.com/gin-gonic/gin"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/trace"
)

// Handler returns the HTTP handler for the listen address: POST /openrtb2/auction,
// GET /healthz, GET /readyz and GET /metrics.
func (g *Gateway) Handler() http.Handler {
	gin.SetMode(gin.ReleaseMode)
	r := gin.New()
	r.HandleMethodNotAllowed = true
	r.Use(g.recoverPanics)
	r.POST("/openrtb2/auction", g.allowCORS, g.handleAuction)
	r.OPTIONS("/openrtb2/auction", g.allowCORS) // CORS preflight
	r.GET("/healthz", func(c *gin.Context) { c.String(http.StatusOK, "ok\n") })
	r.GET("/readyz", func(c *gin.Context) {
		if !g.ready.Load() {
			c.String(http.StatusServiceUnavailable, "draining\n")
			return
		}
		c.String(http.StatusOK, "ready\n")
	})
	if g.metricsH != nil {
		r.GET("/metrics", gin.WrapH(g.metricsH))
	}
	return r
}

// errorBody is the JSON body of a refused request.
type errorBody struct {
	Error string `json:"error"`
	Field string `json:"field,omitempty"`
}

// recoverPanics turns a panic into a 500 without internals, logged and counted. A panic
// is a bug: nothing a client sends should cause one (the fuzz targets look for them).
func (g *Gateway) recoverPanics(c *gin.Context) {
	defer func() {
		if p := recover(); p != nil {
			if p == http.ErrAbortHandler { //nolint:errorlint // the sentinel is compared by identity
				panic(p)
			}
			g.log.Error("panic serving a request", "path", c.Request.URL.Path, "panic", p)
			g.m.auction(c.Request.Context(), resultPanic, 0)
			if !c.Writer.Written() {
				c.AbortWithStatusJSON(http.StatusInternalServerError, errorBody{Error: "internal error"})
			}
		}
	}()
	c.Next()
}

// handleAuction serves POST /openrtb2/auction. Every error is classified here, once:
// a RequestError is the client's (4xx with the field), no winner is 204 or, for Prebid
// clients, 200 with an empty seatbid (auction.nobid).
func (g *Gateway) handleAuction(c *gin.Context) {
	start := time.Now()
	st := g.state.Load()
	ctx, span := g.tracer.Start(c.Request.Context(), "auction", serverSpan...)
	defer span.End()

	buf := getBuf()
	defer putBuf(buf)
	if rerr := readBody(c.Request, st.cfg.Auction.MaxBodyBytes, buf); rerr != nil {
		g.refuse(c, start, span, rerr)
		return
	}
	if why := g.load.admit(start, &st.cfg.Overload, &st.cfg.Auction, buf.Bytes()); why != shedNone {
		g.refuseLoad(c, st, start, span, buf.Bytes(), why)
		return
	}
	defer g.load.leave()
	rerr := g.serve(ctx, st, start, buf.Bytes(), func(a reply) bool {
		return g.deliver(ctx, c, span, start, a)
	})
	if rerr != nil {
		g.refuse(c, start, span, rerr)
	}
}

// deliver writes an auction's answer, flushes it and counts the auction by its result.
// It reports whether the publisher got the answer: one that hung up before the answer
// was ready never sees it (and gets no notices). After the answer is written a hang-up
// is normal: the client closing its connection.
func (g *Gateway) deliver(ctx context.Context, c *gin.Context, span trace.Span, start time.Time, a reply) bool {
	status, body := a.status, a.body
	result := resultNoBid
	if a.sold {
		result = resultBid
	}
	delivered := c.Request.Context().Err() == nil
	if !delivered {
		result = resultCanceled
	}
	h := c.Writer.Header()
	h.Set("X-Openrtb-Version", "2.6")
	if status == http.StatusOK {
		h.Set("Content-Type", "application/json")
		h.Set("Content-Length", strconv.Itoa(len(body)))
		c.Status(status)
		_, _ = c.Writer.Write(body)
	} else {
		c.Status(status)
		c.Writer.WriteHeaderNow()
	}
	c.Writer.Flush() // the publisher has its answer; what follows is off its path
	g.m.auction(ctx, result, time.Since(start).Seconds())
	g.load.edge.count(time.Now(), shedNone)
	if span.IsRecording() {
		span.SetAttributes(attribute.Int("http.status_code", status))
	}
	return delivered
}

func (g *Gateway) refuse(c *gin.Context, start time.Time, span trace.Span, rerr *RequestError) {
	g.m.auction(c.Request.Context(), resultInvalid, time.Since(start).Seconds())
	g.load.edge.count(time.Now(), shedNone)
	if span.IsRecording() {
		span.SetAttributes(attribute.Int("http.status_code", rerr.Status), attribute.String("bidsieve.invalid_field", rerr.Field))
	}
	g.log.Debug("request refused", "status", rerr.Status, "err", rerr.Error())
	body, _ := json.Marshal(errorBody{Error: rerr.Error(), Field: rerr.Field})
	c.Data(rerr.Status, "application/json", body)
}
