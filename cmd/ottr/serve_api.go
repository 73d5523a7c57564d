package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"time"

	"github.com/ottr-dev/ottr"
	"github.com/ottr-dev/ottr/api"
	"github.com/ottr-dev/ottr/metrics"
	"github.com/prometheus/client_golang/prometheus"
)

// rotations returns this process's rotation metrics, made once.
func (a *app) rotations() *metrics.Rotations {
	if a.rotationMetrics == nil {
		a.rotationMetrics = metrics.NewRotations()
	}
	return a.rotationMetrics
}

// checkListen refuses an API address that would serve plain HTTP beyond
// this machine.
func checkListen(addr, cert, key string, insecure bool) error {
	if addr == "" {
		return nil
	}
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return usageError{fmt.Errorf("listen %q: want host:port", addr)}
	}
	if (cert == "") != (key == "") {
		return usageError{errors.New("--tls-cert and --tls-key go together")}
	}
	ip := net.ParseIP(host)
	loopback := host == "localhost" || (ip != nil && ip.IsLoopback())
	if cert == "" && !loopback && !insecure {
		return usageError{fmt.Errorf("listen %s: plain HTTP is only served on loopback; give --tls-cert/--tls-key, or --insecure-http behind a TLS proxy", addr)}
	}
	return nil
}

// serveAPI starts the HTTP API and the dashboard on addr ("" = off) and
// returns the URL it serves and its stop function. Plain HTTP is only
// allowed on loopback unless insecure is set; otherwise a certificate and
// key are required.
func (a *app) serveAPI(ctx context.Context, addr, cert, key string, insecure bool, eng rotationEngine, st serveState) (string, func(), error) {
	if addr == "" {
		return "", func() {}, nil
	}
	if err := checkListen(addr, cert, key, insecure); err != nil {
		return "", nil, err
	}
	db, err := a.store(ctx)
	if err != nil {
		return "", nil, err
	}
	c, err := a.config()
	if err != nil {
		return "", nil, err
	}
	tc, err := c.API.tokenConfig(db, db)
	if err != nil {
		return "", nil, err
	}
	// Signing out (the dashboard's, POST /user/v1/logout) revokes one
	// token on every replica.
	tc.Revocations = db
	tokens, err := api.NewTokens(ctx, tc)
	if err != nil {
		return "", nil, err
	}
	rt, err := a.routeTable()
	if err != nil {
		return "", nil, err
	}
	var dns ottr.ChallengeDNS
	if ch, err := a.challenges(ctx); err == nil {
		dns = ch
	}
	s := &api.Server{CAs: sortedKeys(c.CertificateAuthorities), Ready: func(ctx context.Context) error { _, err := db.ListSecrets(ctx, "-"); return err }, Users: db, Assets: db, Tokens: tokens, Routes: rt, Limits: c.assetLimits(), DNS: dns, RotationStore: db, RotationsState: st.rotations(), RotationsMissing: st.missing, Audit: db, Trust: db, UsesCredential: a.usesCredential, Logger: a.log, Version: version,
		Collectors: []prometheus.Collector{a.rotations(), &metrics.Expiry{Assets: db}}}
	if eng != nil {
		// A nil engine in the interface would not be nil to the API.
		s.Rotations = eng
	}
	s.Discover = a.serverDiscover(dns)
	s.Policy = c.policy()
	// The credential sets the dashboard lists (names and users, never
	// values).
	s.Secrets, s.CredentialUsers = db, a.credentialUsers
	sc := &statusCache{compute: func(ctx context.Context, listMax int) (*ottr.FleetStatus, error) {
		return a.serverStatus(ctx, listMax, eng, st)
	}}
	s.Status = sc.get
	// Behind --insecure-http on another host than loopback TLS ends at a
	// proxy: the browser is on HTTPS, so its cookies are Secure.
	host, _, _ := net.SplitHostPort(addr)
	ip := net.ParseIP(host)
	proxied := insecure && host != "localhost" && (ip == nil || !ip.IsLoopback())
	dash, handler, err := a.dashboard(s.Handler(), proxied)
	if err != nil {
		return "", nil, err
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return "", nil, ottr.Errorf(ottr.EUNAVAILABLE, "listen %s: %v", addr, err)
	}
	srv := &http.Server{
		Handler:           http.MaxBytesHandler(handler, 1<<20),
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      60 * time.Second,
		IdleTimeout:       2 * time.Minute,
	}
	scheme := "http"
	go func() {
		var err error
		if cert != "" {
			err = srv.ServeTLS(ln, cert, key)
		} else {
			err = srv.Serve(ln)
		}
		if err != nil && !errors.Is(err, http.ErrServerClosed) {
			a.log.Error("api server", "err", err)
		}
	}()
	// Live logs would hold a shutdown up; they end and browsers reconnect.
	srv.RegisterOnShutdown(dash.Close)
	if cert != "" {
		scheme = "https"
	}
	url := scheme + "://" + ln.Addr().String()
	a.log.Info("api listening", "url", url)
	a.log.Info("dashboard", "url", url+"/")
	unnote := a.noteServer(c, ln.Addr(), scheme)
	return url, func() {
		defer unnote()
		stop, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
		defer cancel()
		_ = srv.Shutdown(stop)
	}, nil
}
