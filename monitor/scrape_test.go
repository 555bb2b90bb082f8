package monitor

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/vigilml/vigil/monitor/scrape"
)

func TestScrapeIntoWindows(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		from, _ := strconv.Atoi(r.URL.Query().Get("cursor"))
		w.Header().Set(scrape.CursorHeader, "50")
		for i := from; i < 50; i++ {
			fmt.Fprintf(w, `{"model":"fraud","id":"s%d","features":{"amount":%d,"country":"DE"},"prediction":1,"score":0.9}`+"\n", i, i)
		}
	}))
	defer srv.Close()
	d := startDaemon(t, binaryCfg+fmt.Sprintf(`
scrape_configs:
  - {job_name: batch-scores, url: %q, scrape_interval: 100ms, scrape_timeout: 100ms}
`, srv.URL+"/records"))
	require.Eventually(t, func() bool {
		d.m.Evaluate(d.clock.Now())
		s, _ := d.m.Stats("fraud")
		return s.Events.Predictions == 50
	}, 10*time.Second, 20*time.Millisecond)
	require.Eventually(t, func() bool {
		return strings.Contains(string(d.get(t, "/metrics").body), `vigil_scrape_up{job="batch-scores"} 1`)
	}, 10*time.Second, 20*time.Millisecond)
	time.Sleep(300 * time.Millisecond) // a few more scrapes: the cursor keeps them empty
	s, _ := d.m.Stats("fraud")
	require.Equal(t, uint64(50), s.Events.Predictions)
}
