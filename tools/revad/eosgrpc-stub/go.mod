// Local stand-in for github.com/cern-eos/go-eosgrpc; see stub.go.
module github.com/cern-eos/go-eosgrpc

go 1.22
