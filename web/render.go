package web

import (
	"bytes"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"fmt"
	"html/template"
	"io/fs"
	"net/http"
	"net/url"
	"path"
	"strings"
	"time"

	"github.com/ottr-dev/ottr"
)

//go:embed templates static
var files embed.FS

// staticHash is each static file's content hash: pages link to
// /static/<file>?v=<hash>, so a file can be cached for good and a new
// build's is fetched at once.
var staticHash = func() map[string]string {
	m := map[string]string{}
	_ = fs.WalkDir(files, "static", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, _ := files.ReadFile(p)
		sum := sha256.Sum256(b)
		m[strings.TrimPrefix(p, "static/")] = hex.EncodeToString(sum[:6])
		return nil
	})
	return m
}()

func staticURL(name string) string {
	return "/static/" + name + "?v=" + staticHash[name]
}

func staticHandler() http.Handler {
	sub, _ := fs.Sub(files, "static")
	fsrv := http.StripPrefix("/static/", http.FileServerFS(sub))
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		name := strings.TrimPrefix(r.URL.Path, "/static/")
		h, ok := staticHash[name]
		if !ok {
			http.NotFound(w, r)
			return
		}
		if r.URL.Query().Get("v") == h {
			w.Header().Set("Cache-Control", "public, max-age=31536000, immutable")
		} else {
			w.Header().Set("Cache-Control", "no-cache")
		}
		fsrv.ServeHTTP(w, r)
	})
}

// pages holds one template set per page, each with the shared layout.
type pages struct {
	sets map[string]*template.Template
}

func loadPages() (*pages, error) {
	base, err := template.New("").Funcs(funcs).ParseFS(files, "templates/layout.html")
	if err != nil {
		return nil, err
	}
	names, err := fs.Glob(files, "templates/*.html")
	if err != nil {
		return nil, err
	}
	p := &pages{sets: map[string]*template.Template{}}
	for _, n := range names {
		if path.Base(n) == "layout.html" {
			continue
		}
		t, err := base.Clone()
		if err != nil {
			return nil, err
		}
		if _, err := t.ParseFS(files, n); err != nil {
			return nil, err
		}
		p.sets[strings.TrimSuffix(path.Base(n), ".html")] = t
	}
	return p, nil
}

// view is what the layout is executed with.
type view struct {
	Title   string
	Nav     string
	User    *user
	Flash   string
	Version string
	Page    any
}

// pageTitle names each page in <title> and its heading.
var pageTitle = map[string]string{
	"login": "Sign in", "overview": "Overview", "assets": "Assets", "asset": "Asset", "asset_edit": "Edit asset",
	"rotations": "Rotations", "rotation": "Rotation", "unrouted": "Unrouted assets", "routes": "Route table",
	"users": "Users", "events": "Audit events", "credentials": "Credential sets", "discover": "Discovery", "error": "Error", "logout": "Sign out",
	"account": "Your account",
}

// pageNav is the navigation entry each page belongs to.
var pageNav = map[string]string{
	"overview": "overview", "assets": "assets", "asset": "assets", "asset_edit": "assets", "rotations": "rotations",
	"rotation": "rotations", "unrouted": "unrouted", "routes": "routes", "users": "admin", "events": "admin", "credentials": "admin",
	"discover": "admin", "account": "account",
}

// flashes are the messages a redirect after a change may ask for (by
// code, so no text travels in URLs).
var flashes = map[string]string{
	"saved": "Changes saved.", "deleted": "Asset deleted.", "user-added": "User added.", "user-deleted": "User deleted.",
	"role-changed": "Role changed.", "user-unlocked": "Failed sign-ins cleared.", "password": "Password changed.", "validation-on": "Certificate validation turned on.", "validation-off": "Certificate validation turned off.",
	"canceled": "Rotation canceled.", "joined": "A rotation of this asset was already running; this is it.",
}

// render writes page name with data, inside the layout, with status.
// Rendering goes to a buffer first: a template error gives a clean 500,
// not half a page.
func (s *Server) render(w http.ResponseWriter, r *http.Request, status int, name string, data any) {
	t, ok := s.pages.sets[name]
	if !ok {
		panic("web: no template " + name)
	}
	v := view{Title: pageTitle[name], Nav: pageNav[name], User: userOf(r), Flash: flashes[r.URL.Query().Get("done")], Version: s.c.Version, Page: data}
	if e, ok := data.(errorPage); ok {
		v.Title = e.Title
	}
	if t, ok := data.(interface{ title() string }); ok && t.title() != "" {
		v.Title = t.title()
	}
	var b bytes.Buffer
	if err := t.ExecuteTemplate(&b, "layout", v); err != nil {
		s.c.Logger.ErrorContext(r.Context(), "dashboard template failed", "page", name, "err", err)
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	if r.Method != http.MethodHead {
		_, _ = w.Write(b.Bytes())
	}
}

var funcs = template.FuncMap{
	"static": staticURL,
	"when":   when,
	"ago":    func(t any) string { return relative(t, time.Now()) },
	"iso":    iso,
	"took":   took,
	"path":   url.PathEscape,
	"query":  func(v url.Values) string { return v.Encode() },
	"join":   strings.Join,
	"labels": labelText,
	"stateClass": func(s any) string {
		return "state-" + strings.ReplaceAll(fmt.Sprint(s), "_", "-")
	},
	"roles": func() []ottr.Role { return ottr.Roles },
	// short is the head of a rotation ID, enough to tell rotations apart
	// in a list; the link and its title carry the whole ID.
	"short": func(id string) string {
		if len(id) > 8 {
			return id[:8]
		}
		return id
	},
	"add": func(a, b int) int { return a + b },
	// count says "1 asset", "3 assets".
	"count":    func(n int, unit string) string { return plural(n, unit) },
	"interval": interval,
	"pct": func(n, total int) int {
		if total <= 0 {
			return 0
		}
		return n * 100 / total
	},
}

// timeOf reads the times templates get: time.Time, *time.Time, ottr.Time
// and *ottr.Time.
func timeOf(v any) (time.Time, bool) {
	switch t := v.(type) {
	case time.Time:
		return t, !t.IsZero()
	case *time.Time:
		if t == nil {
			return time.Time{}, false
		}
		return *t, !t.IsZero()
	case ottr.Time:
		return t.Time, !t.IsZero()
	case *ottr.Time:
		if t == nil {
			return time.Time{}, false
		}
		return t.Time, !t.IsZero()
	}
	return time.Time{}, false
}

// when formats a time for people: UTC, to the minute ("" for none).
func when(v any) string {
	t, ok := timeOf(v)
	if !ok {
		return ""
	}
	return t.UTC().Format("2006-01-02 15:04 UTC")
}

func iso(v any) string {
	t, ok := timeOf(v)
	if !ok {
		return ""
	}
	return t.UTC().Format(time.RFC3339)
}

// relative says how far t is from now: "in 3 days", "2 hours ago".
func relative(v any, now time.Time) string {
	t, ok := timeOf(v)
	if !ok {
		return ""
	}
	d := t.Sub(now)
	future := d > 0
	if !future {
		d = -d
	}
	var s string
	switch {
	case d < time.Minute:
		return "just now"
	case d < time.Hour:
		s = plural(int(d/time.Minute), "minute")
	case d < 48*time.Hour:
		s = plural(int(d/time.Hour), "hour")
	default:
		s = plural(int(d/(24*time.Hour)), "day")
	}
	if future {
		return "in " + s
	}
	return s + " ago"
}

// interval says a period of seconds the way people do: "1 hour",
// "15 minutes", "90 s".
func interval(secs int64) string {
	d := time.Duration(secs) * time.Second
	switch {
	case d >= time.Hour && d%time.Hour == 0:
		return plural(int(d/time.Hour), "hour")
	case d >= time.Minute && d%time.Minute == 0:
		return plural(int(d/time.Minute), "minute")
	}
	return durationText(d)
}

func plural(n int, unit string) string {
	if n == 1 {
		return "1 " + unit
	}
	return fmt.Sprintf("%d %ss", n, unit)
}

// took is the time between two instants, for step and rotation timings.
func took(from, to any) string {
	a, ok1 := timeOf(from)
	b, ok2 := timeOf(to)
	if !ok1 || !ok2 {
		return ""
	}
	return durationText(b.Sub(a))
}

func durationText(d time.Duration) string {
	switch {
	case d < time.Second:
		return fmt.Sprintf("%d ms", d.Milliseconds())
	case d < time.Minute:
		return fmt.Sprintf("%.1f s", d.Seconds())
	default:
		return d.Round(time.Second).String()
	}
}

func labelText(m map[string]string) string {
	var parts []string
	for _, k := range sortedKeys(m) {
		parts = append(parts, k+"="+m[k])
	}
	return strings.Join(parts, ", ")
}
