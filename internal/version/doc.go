// Package version says which synfin a binary is, from what the Go
// toolchain records in it (runtime/debug.ReadBuildInfo): the module's
// version, the VCS revision it was built from and that revision's date.
package version
