module rumprun.test/hello

go 1.19
