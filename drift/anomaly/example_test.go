package anomaly_test

import (
	"encoding/json"
	"fmt"

	"github.com/vigilml/vigil/drift/anomaly"
)

// One Scorer and one CUSUM per model and signal, here p95 latency in
// milliseconds: the score goes to vigil_anomaly_score{signal="p95_latency"},
// and the CUSUM is fed only the ticks that scored.
func Example() {
	scorer, err := anomaly.NewScorer(anomaly.ScorerOptions{
		WarmUp:   5,
		MinScale: 5, // latency moves of under 5 ms are not worth a score of 1
	})
	if err != nil {
		panic(err)
	}
	cusum, err := anomaly.NewCUSUM(anomaly.CUSUMOptions{})
	if err != nil {
		panic(err)
	}
	p95 := []float64{120, 118, 125, 121, 119, 122, 400, 117, 123, 180, 178, 183, 181}
	for tick, x := range p95 {
		score, ok := scorer.Update(x)
		if !ok {
			fmt.Printf("%2d %4.0f warming up\n", tick, x)
			continue
		}
		fmt.Printf("%2d %4.0f score %5.1f change %t\n", tick, x, score, cusum.Update(score))
	}

	// Persist both across a restart.
	b, err := json.Marshal(struct {
		Scorer anomaly.ScorerState
		CUSUM  anomaly.CUSUMState
	}{scorer.State(), cusum.State()})
	if err != nil {
		panic(err)
	}
	fmt.Println(len(b) > 0)

	// The spike at tick 6 scores high and is winsorised, so tick 7 scores as
	// ordinary; the level shift from tick 9 keeps scoring high and the CUSUM
	// flags it at tick 10, while the mean starts learning the new level.

	// Output:
	//  0  120 warming up
	//  1  118 warming up
	//  2  125 warming up
	//  3  121 warming up
	//  4  119 warming up
	//  5  122 score   0.4 change false
	//  6  400 score  55.9 change false
	//  7  117 score  -1.1 change false
	//  8  123 score   0.2 change false
	//  9  180 score  11.6 change false
	// 10  178 score   9.8 change true
	// 11  183 score   8.3 change false
	// 12  181 score   6.3 change false
	// true
}
