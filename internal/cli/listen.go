package cli

import (
	"crypto/tls"
	"log/slog"
	"net"
	"net/http"
	"sync/atomic"
	"time"

	"github.com/lienthong/lienthong/internal/config"
	"github.com/lienthong/lienthong/internal/edge"
)

// newHTTPServer is the hub's one HTTP server. Every timeout is set: with
// no IdleTimeout, idle keep-alive connections are held for ever and use up
// the file descriptors (issue 12).
func newHTTPServer(h config.Hub, handler http.Handler, log *slog.Logger) *http.Server {
	return &http.Server{Handler: handler,
		ReadHeaderTimeout: h.ReadHeaderTimeout, ReadTimeout: h.ReadTimeout, WriteTimeout: h.WriteTimeout,
		IdleTimeout: h.IdleTimeout, MaxHeaderBytes: int(h.MaxHeaderBytes),
		ErrorLog: slog.NewLogLogger(log.Handler(), slog.LevelWarn)}
}

// listen opens the hub's listener: at most hub.maxConnections at once,
// then TLS when configured (the cap counts TCP connections, so a
// connection over it costs no handshake).
func listen(cfg *config.Config, log *slog.Logger) (net.Listener, error) {
	ln, err := net.Listen("tcp", cfg.Hub.Addr)
	if err != nil {
		return nil, err
	}
	var refused atomic.Int64
	var lastLog atomic.Int64
	ln = edge.LimitListener(ln, cfg.Hub.MaxConnections, func() {
		n := refused.Add(1)
		// One line a minute at most: a flood must not flood the log too.
		now := time.Now().Unix()
		if last := lastLog.Load(); now-last >= 60 && lastLog.CompareAndSwap(last, now) {
			log.Warn("connection refused: hub.maxConnections reached", "max", cfg.Hub.MaxConnections, "refused", n)
		}
	})
	if cfg.TLS.Enabled() {
		tc, err := tlsConfig(cfg.TLS)
		if err != nil {
			_ = ln.Close()
			return nil, err
		}
		ln = tls.NewListener(ln, tc)
	}
	return ln, nil
}
