// Command kfake runs franz-go's in-process Kafka (kfake) on a fixed port until it is
// interrupted, for `TRANSPORT=kafka bench/ingest.sh`: no Kafka broker is packaged for
// the machines vigil is measured on. It keeps every record in memory, and it shares the
// machine with vigil and loadgen, so figures taken through it are a floor on what vigil
// does against a broker of its own (docs/performance.md).
//
//	go run ./bench/kfake -port 19092 -topics vigil-predictions,vigil-labels
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/twmb/franz-go/pkg/kfake"
)

func main() {
	port := flag.Int("port", 19092, "port to listen on (127.0.0.1)")
	topics := flag.String("topics", "vigil-predictions,vigil-labels", "topics to create, comma-separated")
	partitions := flag.Int("partitions", 2, "partitions of each topic")
	flag.Parse()
	c, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.Ports(*port),
		kfake.SeedTopics(int32(*partitions), strings.Split(*topics, ",")...))
	if err != nil {
		fmt.Fprintf(os.Stderr, "kfake: %v\n", err)
		os.Exit(1)
	}
	defer c.Close()
	fmt.Println(strings.Join(c.ListenAddrs(), ","))
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	<-ctx.Done()
}
