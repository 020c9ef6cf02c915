// Command lienthong is the inter-agency e-document interchange hub and its
// client tools.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"
	_ "time/tzdata" // the console's zone (Asia/Ho_Chi_Minh) in containers without a zone database

	"github.com/lienthong/lienthong/internal/cli"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := cli.Run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}
