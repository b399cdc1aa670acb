package githubtest

import (
	"crypto/rand"
	"crypto/rsa"
	"net/http"
	"strconv"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// TestJWTChecks: the App's endpoints take only a JWT signed RS256 by the
// App's key, issued by the App, alive and living at most 10 minutes, as
// GitHub does; anything else is 401.
func TestJWTChecks(t *testing.T) {
	s, err := Start(Options{InstallAll: true})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	other, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	claims := func(iss string, iat, exp time.Duration) jwt.RegisteredClaims {
		return jwt.RegisteredClaims{Issuer: iss, IssuedAt: jwt.NewNumericDate(now.Add(iat)), ExpiresAt: jwt.NewNumericDate(now.Add(exp))}
	}
	app := strconv.FormatInt(s.AppID, 10)
	sign := func(m jwt.SigningMethod, key any, c jwt.RegisteredClaims) string {
		tok, err := jwt.NewWithClaims(m, c).SignedString(key)
		if err != nil {
			t.Fatal(err)
		}
		return tok
	}
	for _, tc := range []struct {
		name, auth string
		want       int
	}{
		{"good", "Bearer " + sign(jwt.SigningMethodRS256, s.Key, claims(app, -time.Minute, 9*time.Minute)), 200},
		{"another key", "Bearer " + sign(jwt.SigningMethodRS256, other, claims(app, -time.Minute, 9*time.Minute)), 401},
		{"another app", "Bearer " + sign(jwt.SigningMethodRS256, s.Key, claims("1", -time.Minute, 9*time.Minute)), 401},
		{"expired", "Bearer " + sign(jwt.SigningMethodRS256, s.Key, claims(app, -20*time.Minute, -10*time.Minute)), 401},
		{"lives too long", "Bearer " + sign(jwt.SigningMethodRS256, s.Key, claims(app, 0, 30*time.Minute)), 401},
		{"issued in the future", "Bearer " + sign(jwt.SigningMethodRS256, s.Key, claims(app, 5*time.Minute, 9*time.Minute)), 401},
		{"HMAC with the public key", "Bearer " + sign(jwt.SigningMethodHS256, []byte("k"), claims(app, 0, 9*time.Minute)), 401},
		{"alg none", "Bearer " + sign(jwt.SigningMethodNone, jwt.UnsafeAllowNoneSignatureType, claims(app, 0, 9*time.Minute)), 401},
		{"the plain token", "Bearer " + s.Token, 401},
		{"none", "", 401},
	} {
		req, _ := http.NewRequest("GET", s.APIURL()+"repos/alice/meshery/installation", nil)
		if tc.auth != "" {
			req.Header.Set("Authorization", tc.auth)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != tc.want {
			t.Errorf("%s: %d, want %d", tc.name, resp.StatusCode, tc.want)
		}
	}
	if n := len(s.Calls()); n != 10 {
		t.Errorf("%d calls recorded, want 10", n)
	}
}
