module example.com/paas-example-go

go 1.19
