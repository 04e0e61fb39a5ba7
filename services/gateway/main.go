// Command gateway receives water-quality readings from stations over HJ 212 (TCP,
// gateway.hj212_listen, default :9212) and from labs and backfills over HTTP
// (POST /api/v1/readings and /api/v1/readings.csv on gateway.listen, default :8081, beside
// /healthz, /readyz and — unless gateway.metrics_listen is set — /metrics), and publishes them to riverwatch.readings, or refused to
// riverwatch.rejected. A station is answered only once Kafka has its data. The logic lives
// in services/gateway/internal/gateway and pkg/hj212.
//
//	gateway [-config FILE] [-check] [-version]
package main

import (
	"context"
	"io"
	"os"
	_ "time/tzdata" // DataTime is Asia/Shanghai local time, also on hosts without zoneinfo

	"github.com/riverwatch/riverwatch/pkg/service"
	"github.com/riverwatch/riverwatch/services/gateway/internal/gateway"
)

func main() { os.Exit(run(os.Args[1:], os.Stdout, os.Stderr)) }

func run(args []string, stdout, stderr io.Writer) int {
	return service.Main(service.Program{
		Name:  "gateway",
		Usage: "usage: gateway [-config FILE] [-check] [-version]",
		Check: gateway.Check,
		Start: func(_ context.Context, rt *service.Runtime) error {
			gw, err := gateway.New(rt.Config, gateway.Deps{Log: rt.Log, Registry: rt.Registry})
			if err != nil {
				return err
			}
			gw.Routes(rt.ServeWithMetrics(rt.Config.Gateway.Listen, rt.Config.Gateway.MetricsListen).Mux)
			rt.Add("gateway", func(ctx context.Context) error { return gw.Run(ctx, rt.Ready) })
			rt.OnReload("tokens", service.ReloadTokens(rt.Config, gw.Tokens()))
			return nil
		},
	}, args, stdout, stderr)
}
