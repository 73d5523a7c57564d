package web

import (
	"context"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"net/http"
	"net/url"
	"sort"
	"time"

	"github.com/ottr-dev/ottr"
)

// certInfo is the certificate an asset serves, as its last successful
// rotation issued it (or as the inventory records it, without a chain).
type certInfo struct {
	Subject    string
	SANs       []string
	Issuer     string
	Serial     string
	NotBefore  time.Time
	NotAfter   time.Time
	KeyType    string
	RotationID string
}

func certOf(a *ottr.Asset, r *ottr.Rotation) *certInfo {
	if r != nil {
		if blk, _ := pem.Decode([]byte(r.Chain)); blk != nil {
			if c, err := x509.ParseCertificate(blk.Bytes); err == nil {
				return &certInfo{Subject: c.Subject.String(), SANs: certNames(c), Issuer: c.Issuer.String(),
					Serial: fmt.Sprintf("%X", c.SerialNumber), NotBefore: c.NotBefore, NotAfter: c.NotAfter, KeyType: keyType(c), RotationID: r.ID}
			}
		}
	}
	if a.CertificateExpiration == nil && a.CertificateSerial == "" {
		return nil
	}
	ci := &certInfo{Subject: "CN=" + a.CommonName, SANs: a.SubjectAlternativeName, Issuer: a.CertificateIssuer, Serial: a.CertificateSerial}
	if t, ok := timeOf(a.CertificateExpiration); ok {
		ci.NotAfter = t
	}
	if t, ok := timeOf(a.CertificateNotBefore); ok {
		ci.NotBefore = t
	}
	return ci
}

func certNames(c *x509.Certificate) []string {
	out := append([]string(nil), c.DNSNames...)
	for _, ip := range c.IPAddresses {
		out = append(out, ip.String())
	}
	return out
}

func keyType(c *x509.Certificate) string {
	switch k := c.PublicKey.(type) {
	case *rsa.PublicKey:
		return fmt.Sprintf("RSA %d", k.N.BitLen())
	case *ecdsa.PublicKey:
		return "ECDSA " + k.Curve.Params().Name
	case ed25519.PublicKey:
		return "Ed25519"
	}
	return c.PublicKeyAlgorithm.String()
}

type assetData struct {
	Asset *ottr.Asset
	Cert  *certInfo
	// Delegation is each name's DNS-01 delegation; DelegationNote says
	// why it is not known (no delegate zones, DNS too slow).
	Delegation     []DelegationResult
	DelegationNote string
	Rotations      []*ottr.Rotation
	MoreRuns       bool
	Labels         []labelPair
	Now            time.Time
	Problems       []ottr.Problem
	Message        string
}

func (d assetData) title() string { return d.Asset.SystemName }

type labelPair struct{ Key, Value string }

func pairs(m map[string]string) []labelPair {
	var out []labelPair
	for _, k := range sortedKeys(m) {
		out = append(out, labelPair{k, m[k]})
	}
	return out
}

func sortedKeys(m map[string]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// historyLen is how many of an asset's rotations its page lists.
const historyLen = 10

func (s *Server) loadAsset(r *http.Request, u *user, name string) (assetData, error) {
	ctx := r.Context()
	a, err := u.backend.GetAsset(ctx, name)
	if err != nil {
		return assetData{}, err
	}
	d := assetData{Asset: a, Labels: pairs(a.Labels), Now: s.c.Now()}
	runs, next, err := u.backend.FindRotations(ctx, ottr.RotationFilter{SystemName: a.SystemName, Limit: historyLen})
	if err != nil {
		return assetData{}, err
	}
	d.Rotations, d.MoreRuns = runs, next != ""
	var last *ottr.Rotation
	for _, run := range runs {
		if run.State == ottr.StateSucceeded {
			if last, err = u.backend.GetRotation(ctx, run.ID); err != nil {
				return assetData{}, err
			}
			break
		}
	}
	if last == nil && len(runs) == historyLen {
		// The last success may be older than the history shown.
		ok, _, err := u.backend.FindRotations(ctx, ottr.RotationFilter{SystemName: a.SystemName, State: ottr.StateSucceeded, Limit: 1})
		if err != nil {
			return assetData{}, err
		}
		if len(ok) > 0 {
			if last, err = u.backend.GetRotation(ctx, ok[0].ID); err != nil {
				return assetData{}, err
			}
		}
	}
	d.Cert = certOf(a, last)
	d.Delegation, d.DelegationNote = s.delegation(r, u, a.SystemName)
	return d, nil
}

// delegationWait bounds the DNS lookups of an asset's page: a slow
// resolver leaves a note, not a slow page.
const delegationWait = 5 * time.Second

// delegation checks the asset's names' DNS-01 delegation through the API.
// It never fails the page: what could not be learnt is said instead.
func (s *Server) delegation(r *http.Request, u *user, name string) ([]DelegationResult, string) {
	ctx, cancel := context.WithTimeout(r.Context(), delegationWait)
	defer cancel()
	res, err := u.backend.Delegation(ctx, name)
	switch {
	case err == nil:
		return res, ""
	case ctx.Err() != nil && r.Context().Err() == nil:
		return nil, "not checked: DNS did not answer within " + delegationWait.String() + "; reload to try again"
	case ottr.ErrorCode(err) == ottr.EUNAVAILABLE || ottr.ErrorCode(err) == ottr.EFORBIDDEN || ottr.ErrorCode(err) == ottr.EINVALID:
		return nil, "not checked: " + ottr.ErrorMessage(err)
	}
	if ottr.ErrorCode(err) != ottr.EINTERNAL && ottr.ErrorCode(err) != "" {
		return nil, "not checked: " + ottr.ErrorMessage(err)
	}
	s.c.Logger.WarnContext(r.Context(), "delegation check failed", "asset", name, "err", err)
	return nil, "not checked: the check failed; see the server's log"
}

func (s *Server) assetPage(w http.ResponseWriter, r *http.Request, u *user) {
	d, err := s.loadAsset(r, u, r.PathValue("name"))
	if err != nil {
		s.fail(w, r, err)
		return
	}
	s.render(w, r, http.StatusOK, "asset", d)
}

// assetRotate starts (or joins) a rotation and shows it. A refusal (no
// route, DNS-01 delegation missing) is shown on the asset's page with
// every problem the API named.
func (s *Server) assetRotate(w http.ResponseWriter, r *http.Request, u *user) {
	name := r.PathValue("name")
	id, joined, err := u.backend.Rotate(r.Context(), name)
	if ottr.ErrorCode(err) == ottr.EINVALID || ottr.ErrorCode(err) == ottr.EUNAVAILABLE {
		d, lerr := s.loadAsset(r, u, name)
		if lerr != nil {
			s.fail(w, r, lerr)
			return
		}
		d.Message = ottr.ErrorMessage(err)
		d.Problems = beyond(d.Message, ottr.ErrorProblems(err))
		s.render(w, r, http.StatusBadRequest, "asset", d)
		return
	}
	if err != nil {
		s.fail(w, r, err)
		return
	}
	to := "/rotations/" + url.PathEscape(id)
	if joined {
		to += "?done=joined"
	}
	http.Redirect(w, r, to, http.StatusSeeOther)
}

func (s *Server) assetValidation(w http.ResponseWriter, r *http.Request, u *user) {
	name := r.PathValue("name")
	on := r.PostForm.Get("validate") == "on"
	if err := u.backend.SetCertificateValidation(r.Context(), name, on); err != nil {
		s.fail(w, r, err)
		return
	}
	done := "validation-off"
	if on {
		done = "validation-on"
	}
	http.Redirect(w, r, "/assets/"+url.PathEscape(name)+"?done="+done, http.StatusSeeOther)
}

func (s *Server) assetDelete(w http.ResponseWriter, r *http.Request, u *user) {
	name := r.PathValue("name")
	if err := u.backend.DeleteAsset(r.Context(), name); err != nil {
		s.fail(w, r, err)
		return
	}
	http.Redirect(w, r, "/assets?done=deleted", http.StatusSeeOther)
}
