package api_test

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/ottr-dev/ottr"
	"github.com/ottr-dev/ottr/api"
)

func login(t *testing.T, srvCall func(method, path, body, token string) (int, string), user, pw string) string {
	t.Helper()
	code, body := srvCall("POST", "/user/v1/authenticate", `{"username":"`+user+`","password":"`+pw+`"}`, "")
	if code != 200 {
		t.Fatalf("login %s: %d %s", user, code, body)
	}
	var out struct{ Token string }
	json.Unmarshal([]byte(body), &out)
	return out.Token
}

func TestUsersAndRoles(t *testing.T) {
	srv, _ := newServer(t)
	do := func(method, path, body, token string) (int, string) {
		code, b, _ := request(t, srv, method, path, body, token)
		return code, b
	}
	admin := login(t, do, "admin", "Passw0rd!")

	if code, body := do("POST", "/admin/v1/users", `{"username":"dev","password":"Dev.Passw0rd","role":"DEVELOPER"}`, admin); code != 201 ||
		!strings.Contains(body, `"role":"DEVELOPER"`) || strings.Contains(body, "argon2") || strings.Contains(body, "Passw0rd") {
		t.Fatalf("create: %d %s", code, body)
	}
	if code, _ := do("POST", "/admin/v1/users", `{"username":"dev","password":"Dev.Passw0rd","role":"DEVELOPER"}`, admin); code != 409 {
		t.Errorf("duplicate user: %d", code)
	}
	code, body := do("POST", "/admin/v1/users", `{"username":"bad name","password":"weak","role":"DEVELOPER"}`, admin)
	if code != 400 || !strings.Contains(body, "username") || !strings.Contains(body, "password") {
		t.Errorf("invalid user: %d %s", code, body)
	}
	code, body = do("GET", "/admin/v1/users", "", admin)
	var users []map[string]any
	json.Unmarshal([]byte(body), &users)
	if code != 200 || len(users) != 2 || users[0]["timestamp"] == nil || strings.Contains(body, "hash") {
		t.Errorf("list: %d %s", code, body)
	}

	dev := login(t, do, "dev", "Dev.Passw0rd")
	// RBAC: no token 401, DEVELOPER 403, bad token 401.
	for _, tc := range []struct {
		token string
		want  int
	}{{"", 401}, {dev, 403}, {"Bearer nonsense", 401}} {
		if code, body := do("GET", "/admin/v1/users", "", tc.token); code != tc.want || !strings.Contains(body, "detail") {
			t.Errorf("token %.10q: %d %s, want %d", tc.token, code, body, tc.want)
		}
	}
	if code, _ := do("DELETE", "/admin/v1/users/dev", "", dev); code != 403 {
		t.Errorf("developer deletes a user: %d", code)
	}
	if code, _ := do("DELETE", "/admin/v1/users/dev", "", admin); code != 204 {
		t.Errorf("delete: %d", code)
	}
	// The deleted user's token stops working at once.
	if code, _ := do("GET", "/admin/v1/users", "", dev); code != 401 {
		t.Errorf("deleted user's token: %d", code)
	}
	if code, _ := do("DELETE", "/admin/v1/users/dev", "", admin); code != 404 {
		t.Errorf("delete twice: %d", code)
	}
}

// TestUserNamesCaseInsensitive: "ADMIN" cannot be made beside "admin";
// a user logs in and is deleted under any case of their name, and the
// audit log names them one way.
func TestUserNamesCaseInsensitive(t *testing.T) {
	srv, _ := newServer(t)
	do := func(method, path, body, token string) (int, string) {
		code, b, _ := request(t, srv, method, path, body, token)
		return code, b
	}
	admin := login(t, do, "Admin", "Passw0rd!")
	if code, body := do("GET", "/admin/v1/users", "", admin); code != 200 {
		t.Fatalf("token of a login as Admin: %d %s", code, body)
	}
	for _, dup := range []string{"ADMIN", "aDmIn"} {
		if code, body := do("POST", "/admin/v1/users", `{"username":"`+dup+`","password":"Dev.Passw0rd","role":"ADMIN"}`, admin); code != 409 {
			t.Errorf("create %s beside admin: %d %s, want 409", dup, code, body)
		}
	}
	if code, body := do("POST", "/admin/v1/users", `{"username":"Carol","password":"Dev.Passw0rd","role":"DEVELOPER"}`, admin); code != 201 || !strings.Contains(body, `"username":"carol"`) {
		t.Fatalf("create Carol: %d %s, want 201 with the name stored as carol", code, body)
	}
	login(t, do, "CAROL", "Dev.Passw0rd")
	if code, body := do("DELETE", "/admin/v1/users/CAROL", "", admin); code != 204 {
		t.Fatalf("delete CAROL: %d %s", code, body)
	}
	code, body := do("GET", "/admin/v1/events", "", admin)
	if code != 200 || strings.Count(body, `"user/carol"`) != 2 || strings.Contains(body, "CAROL") || strings.Contains(body, "Carol") {
		t.Errorf("audit log names the user other than as stored: %d %s", code, body)
	}
}

// TestSetUserRole: an ADMIN changes a user's role, which revokes the
// user's tokens and is audited; an unknown role or user is refused, and
// the last ADMIN cannot demote themself (409, saying why).
func TestSetUserRole(t *testing.T) {
	srv, _ := newServer(t)
	do := func(method, path, body, token string) (int, string) {
		code, b, _ := request(t, srv, method, path, body, token)
		return code, b
	}
	admin := login(t, do, "admin", "Passw0rd!")
	if code, body := do("POST", "/admin/v1/users", `{"username":"dev","password":"Dev.Passw0rd","role":"DEVELOPER"}`, admin); code != 201 {
		t.Fatalf("create: %d %s", code, body)
	}
	dev := login(t, do, "dev", "Dev.Passw0rd")
	if code, body := do("PATCH", "/admin/v1/users/dev", `{"role":"ADMIN"}`, dev); code != 403 {
		t.Errorf("a DEVELOPER promotes themself: %d %s", code, body)
	}
	code, body := do("PATCH", "/admin/v1/users/DEV", `{"role":"PRIVILEGED"}`, admin)
	if code != 200 || !strings.Contains(body, `"username":"dev"`) || !strings.Contains(body, `"role":"PRIVILEGED"`) || strings.Contains(body, "argon2") {
		t.Fatalf("promote: %d %s", code, body)
	}
	if code, _ := do("GET", "/api/v1/search", "", dev); code != 401 {
		t.Errorf("token from before the role change: %d, want 401", code)
	}
	dev = login(t, do, "dev", "Dev.Passw0rd")
	if code, body := do("DELETE", "/api/v1/assets/delete/none.example.com", "", dev); code != 404 {
		t.Errorf("a PRIVILEGED route as the promoted user: %d %s, want 404 (allowed, nothing to delete)", code, body)
	}
	code, body = do("GET", "/admin/v1/events?action=user.role", "", admin)
	var events []struct {
		Actor, Resource string
		Before, After   struct{ Role string }
	}
	json.Unmarshal([]byte(body), &events)
	if code != 200 || len(events) != 1 || events[0].Actor != "admin" || events[0].Resource != "user/dev" ||
		events[0].Before.Role != "DEVELOPER" || events[0].After.Role != "PRIVILEGED" {
		t.Errorf("audit of the role change: %d %s", code, body)
	}
	for _, tc := range []struct {
		path, body string
		code       int
		want       string
	}{
		{"/admin/v1/users/dev", `{"role":"ROOT"}`, 400, "role"},
		{"/admin/v1/users/dev", `{}`, 400, "role"},
		{"/admin/v1/users/dev", `{"role":"ADMIN","password":"x"}`, 400, "password"},
		{"/admin/v1/users/nobody", `{"role":"ADMIN"}`, 404, `user \"nobody\" not found`},
		{"/admin/v1/users/admin", `{"role":"DEVELOPER"}`, 409, "admin is the last ADMIN: make another user ADMIN first"},
	} {
		if code, body := do("PATCH", tc.path, tc.body, admin); code != tc.code || !strings.Contains(body, tc.want) {
			t.Errorf("PATCH %s %s: %d %s; want %d with %q", tc.path, tc.body, code, body, tc.code, tc.want)
		}
	}
	// Through the Client, with the server's words.
	c := &api.Client{BaseURL: srv.URL, Token: admin}
	if u, err := c.SetUserRole(t.Context(), "dev", ottr.RoleAdmin); err != nil || u.Role != ottr.RoleAdmin || u.Username != "dev" {
		t.Fatalf("Client.SetUserRole: %+v %v", u, err)
	}
	// Now two ADMINs: admin may step down, and dev is then the last.
	if u, err := c.SetUserRole(t.Context(), "admin", ottr.RoleDeveloper); err != nil || u.Role != ottr.RoleDeveloper {
		t.Fatalf("step down beside another ADMIN: %+v %v", u, err)
	}
	c.Token = login(t, do, "dev", "Dev.Passw0rd")
	_, err := c.SetUserRole(t.Context(), "dev", ottr.RolePrivileged)
	if ottr.ErrorCode(err) != ottr.ECONFLICT || !strings.Contains(ottr.ErrorMessage(err), "dev is the last ADMIN") {
		t.Errorf("Client.SetUserRole on the last ADMIN: %v", err)
	}
}
