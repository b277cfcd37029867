package admin_test

import (
	"strings"
	"testing"
	"time"
)

// TestBrowserMoveARecallTarget drives the page in headless Chromium: sign in, see the
// DSP table with its figures, move alpha's recall target, preview, save with the
// confirmation, then see the audit entry and the new operating point. With
// BIDSIEVE_UPDATE_SCREENSHOT=1 it also writes docs/admin.png.
func TestBrowserMoveARecallTarget(t *testing.T) {
	findBrowser(t)
	e := newEnv(t)
	// Some history, as a real trail would have.
	for _, c := range []struct{ token, dsp, body string }{
		{adminToken, "echo", `{"mode": "shadow"}`},
		{managerToken, "delta", `{"exploration_rate": 0.05}`},
		{managerToken, "charlie", `{"enabled": false}`},
		{managerToken, "bravo", `{"recall_target": 0.96}`},
	} {
		if st, body := e.do("PATCH", "/admin/api/dsps/"+c.dsp, c.token, c.body, nil); st != 200 {
			t.Fatalf("%s: %d %s", c.dsp, st, body)
		}
	}

	wd := startBrowser(t, 1360, 1460)
	wd.navigate(e.http.URL + "/admin/")

	// A wrong token is refused on the page.
	wd.typeInto("#token", "not-the-token")
	wd.click("#signin")
	wd.waitJS("the sign-in error", `return document.getElementById("signin-error").textContent.includes("not valid")`)

	wd.typeInto("#token", managerToken)
	wd.click("#signin")
	wd.waitJS("six DSP rows", `return document.querySelectorAll("#dsp-table tbody tr").length === 6`)
	if got := wd.text("#who"); got != "max (manager)" {
		t.Fatalf("signed in as %q", got)
	}
	// Figures in the table.
	row := `#dsp-table tr[data-dsp="alpha"] `
	for css, want := range map[string]string{
		"td.offered": "120,000", "td.sent": "96,800", "td.filtered": "18,000", "td.privacy": "1,200", "td.explored": "360",
		"td.throttled": "3,640", "td.bids": "5,004", "td.withheld": "15.0%",
	} {
		if got := wd.text(row + css); got != want {
			t.Errorf("alpha %s = %q, want %q", css, got, want)
		}
	}
	if got := wd.text(row + "td.live-recall"); !strings.HasPrefix(got, "96.2%") {
		t.Errorf("alpha live recall %q, want 96.2%% and its interval", got)
	}
	if got := wd.text(`#dsp-table tr[data-dsp="charlie"] .badge`); got != "paused" {
		t.Errorf("charlie's status %q, want paused", got)
	}
	// The table refreshes by itself.
	calls := e.gw.figures.Load()
	wd.waitFor("a refresh of the figures", func() bool { return e.gw.figures.Load() > calls })

	// alpha is selected: its chart shows the curve and the operating point.
	wd.waitJS("alpha's chart", `return !!document.querySelector("#chart path.curve") && !!document.getElementById("pt-now")`)
	nowBefore := wd.text("#now-recall") + " / " + wd.text("#now-withheld")

	// Move the recall target to 0.98: the preview shows before anything is saved.
	wd.typeInto("#target-value", "0.98")
	wd.waitJS("the preview", `return !!document.getElementById("pv-recall") && !!document.getElementById("pt-preview")`)
	pvRecall, pvWithheld := wd.text("#pv-recall"), wd.text("#pv-withheld")
	if d := e.settings.Effective().DSP("alpha"); d.RecallTarget != nil {
		t.Fatal("the preview saved something")
	}
	t.Logf("now %s, preview %s / %s", nowBefore, pvRecall, pvWithheld)

	// Save, confirm.
	wd.waitJS("the save button", `return !document.getElementById("save-target").disabled`)
	wd.click("#save-target")
	wd.waitJS("the confirmation", `return document.getElementById("confirm").open`)
	if body := wd.text("#confirm-body"); !strings.Contains(body, "98.0%") || !strings.Contains(body, pvWithheld) {
		t.Fatalf("the confirmation does not show the change: %q", body)
	}
	wd.click("#confirm-ok")

	// The audit entry and the new operating point.
	wd.waitJS("the audit entry", `const r = document.querySelector("#audit-table tbody tr");
		return !!r && r.textContent.includes("recall_target") && r.textContent.includes("alpha") && r.querySelector(".new").textContent === "0.98"`)
	first := wd.text("#audit-table tbody tr")
	if !strings.Contains(first, "max") || !strings.Contains(first, "0.95") {
		t.Fatalf("audit row %q", first)
	}
	wd.waitJS("the new operating point", `return document.getElementById("now-recall").textContent === arguments[0]`, pvRecall)
	if got := wd.text("#now-withheld"); got != pvWithheld {
		t.Fatalf("operating point withheld %q, previewed %q", got, pvWithheld)
	}
	if got := wd.text(row + "td:nth-child(3)"); got != "98.0%" {
		t.Fatalf("alpha's recall target in the table: %q", got)
	}
	// In force in the gateway.
	d := e.gw.last().DSP("alpha")
	if d.RecallTarget == nil || *d.RecallTarget != 0.98 {
		t.Fatalf("the gateway has alpha %+v", d)
	}

	// The picture for docs/admin.png: a preview pending next to the point in force.
	wd.typeInto("#target-value", "0.965")
	wd.waitJS("the second preview", `return !!document.getElementById("pt-preview") && document.getElementById("pv-recall") !== null`)
	time.Sleep(300 * time.Millisecond)
	png := wd.screenshot()
	if len(png) < 10_000 {
		t.Fatalf("screenshot of %d bytes", len(png))
	}
	writeFileIfAsked(t, "BIDSIEVE_UPDATE_SCREENSHOT", "../docs/admin.png", png)

	// A viewer sees everything and can change nothing.
	wd.click("#signout")
	wd.waitJS("the sign-in form", `return !document.getElementById("signin-panel").hidden`)
	wd.typeInto("#token", viewerToken)
	wd.click("#signin")
	wd.waitJS("the viewer's page", `return document.getElementById("who").textContent === "vera (viewer)" &&
		document.querySelectorAll("#dsp-table tbody tr").length === 6`)
	wd.waitJS("the controls disabled", `return ["target-value", "target-range", "save-target", "btn-pause", "mode-shadow", "save-limits"]
		.every((id) => document.getElementById(id).disabled) && document.getElementById("preview-text").textContent.includes("may look")`)
}
