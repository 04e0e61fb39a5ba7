// Command responder turns events into incidents, runs the joint-response playbooks
// (configs/playbooks.yaml) against the contact directory (configs/contacts.yaml), notifies,
// escalates and resolves, and publishes every change on riverwatch.incidents.
//
//	responder [-config FILE] [-check] [-version]
//
// -check validates the configuration, network, contacts and playbooks and exits. The logic
// lives in services/responder/internal/responder, services/responder/internal/incident,
// services/responder/internal/playbook and pkg/notify.
package main

import (
	"context"
	"io"
	"os"
	_ "time/tzdata" // the network's time zone must load on hosts without zoneinfo

	"github.com/riverwatch/riverwatch/pkg/service"
	"github.com/riverwatch/riverwatch/services/responder/internal/responder"
)

func main() { os.Exit(run(os.Args[1:], os.Stdout, os.Stderr)) }

func run(args []string, stdout, stderr io.Writer) int {
	return service.Main(service.Program{
		Name:  "responder",
		Usage: "usage: responder [-config FILE] [-check] [-version]",
		Check: responder.Check,
		Start: func(_ context.Context, rt *service.Runtime) error {
			r, err := responder.New(rt.Config, responder.Deps{Log: rt.Log, Registry: rt.Registry})
			if err != nil {
				return err
			}
			rt.Serve(rt.Config.Responder.Listen)
			rt.Add("responder", func(ctx context.Context) error { return r.Run(ctx, rt.Ready) })
			rt.OnReload("contacts", r.ReloadContacts)
			return nil
		},
	}, args, stdout, stderr)
}
