//go:build crds

// Package crds only pins the API type packages controller-gen reads; it is
// never built (the build tag keeps it out of every build but `go mod tidy`).
package crds

import _ "github.com/argoproj/argo-cd/v3/pkg/apis/application/v1alpha1"
