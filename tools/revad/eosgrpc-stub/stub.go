// Package erpc is a compile-only stand-in for github.com/cern-eos/go-eosgrpc.
//
// Why it exists: reva v3 imports go-eosgrpc (as `erpc`) only from its EOS
// storage driver (pkg/storage/fs/eos/client/grpc), but the Go module proxy
// available to us serves no version of go-eosgrpc, so revad cannot be built
// from the proxy as-is. cs3lab never uses the EOS driver (there is no EOS
// here), so tools/revad/go.mod replaces the module with this directory.
//
// It is our own code, not a copy of go-eosgrpc: it declares only the
// identifiers and fields reva's EOS gRPC client refers to, so that package
// compiles. There is no protocol logic; every RPC returns errUnavailable.
package erpc

import (
	"context"
	"errors"
)

var errUnavailable = errors.New("EOS gRPC is not available in this build of revad")

// EosClient is the RPC surface reva calls.
type EosClient interface {
	Ping(ctx context.Context, in *PingRequest) (*PingReply, error)
	Exec(ctx context.Context, in *NSRequest) (*NSResponse, error)
	MD(ctx context.Context, in *MDRequest) (MDStream, error)
	Find(ctx context.Context, in *FindRequest) (MDStream, error)
}

// MDStream is the streamed answer of MD and Find.
type MDStream interface {
	Recv() (*MDResponse, error)
}

// NewEosClient ignores conn and returns a client whose every call fails.
func NewEosClient(conn any) EosClient { return unavailable{} }

type unavailable struct{}

func (unavailable) Ping(context.Context, *PingRequest) (*PingReply, error) {
	return nil, errUnavailable
}
func (unavailable) Exec(context.Context, *NSRequest) (*NSResponse, error) { return nil, errUnavailable }
func (unavailable) MD(context.Context, *MDRequest) (MDStream, error)      { return nil, errUnavailable }
func (unavailable) Find(context.Context, *FindRequest) (MDStream, error)  { return nil, errUnavailable }

type PingRequest struct {
	Authkey string
	Message []byte
}

type PingReply struct{}

type RoleId struct {
	Uid, Gid             uint64
	Username, App, Trace string
}

type MDId struct {
	Path []byte
	Ino  uint64
}

type TYPE int32

const (
	TYPE_FILE TYPE = iota
	TYPE_CONTAINER
	TYPE_LISTING
	TYPE_STAT
)

type MDRequest struct {
	Type    TYPE
	Id      *MDId
	Authkey string
	Role    *RoleId
}

type FindRequest struct {
	Type      TYPE
	Id        *MDId
	Role      *RoleId
	Authkey   string
	Maxdepth  uint64
	Selection *MDSelection
}

type MDSelection struct {
	Select                        bool
	RegexpFilename, RegexpDirname []byte
}

type Time struct{ Sec uint64 }

type Checksum struct {
	Value []byte
	Type  string
}

type ContainerMd struct {
	Inode, ParentId, Uid, Gid, Mode uint64
	TreeSize, Files, Containers     uint64
	Mtime, Stime                    *Time
	Etag                            string
	Path                            []byte
	Xattrs                          map[string][]byte
}

type FileMd struct {
	Inode, ContId, Uid, Gid, Flags, Size uint64
	Mtime                                *Time
	Etag                                 string
	Path                                 []byte
	Xattrs                               map[string][]byte
	Checksum                             *Checksum
}

type MDResponse struct {
	Type TYPE
	Cmd  *ContainerMd
	Fmd  *FileMd
}

// NSRequest.Command holds one of the NSRequest_<Cmd> wrappers below.
type NSRequest struct {
	Authkey string
	Role    *RoleId
	Command any
}

type NSRequest_Acl struct{ Acl *NSRequest_AclRequest }
type NSRequest_Chmod struct{ Chmod *NSRequest_ChmodRequest }
type NSRequest_Chown struct{ Chown *NSRequest_ChownRequest }
type NSRequest_Mkdir struct{ Mkdir *NSRequest_MkdirRequest }
type NSRequest_Quota struct{ Quota *NSRequest_QuotaRequest }
type NSRequest_Recycle struct{ Recycle *RecycleProto }
type NSRequest_Rename struct{ Rename *NSRequest_RenameRequest }
type NSRequest_Rm struct{ Rm *NSRequest_RmRequest }
type NSRequest_Token struct{ Token *NSRequest_TokenRequest }
type NSRequest_Touch struct{ Touch *NSRequest_TouchRequest }
type NSRequest_Unlink struct{ Unlink *NSRequest_UnlinkRequest }
type NSRequest_Version struct{ Version *NSRequest_VersionRequest }
type NSRequest_Xattr struct{ Xattr *NSRequest_SetXAttrRequest }

type NSRequest_AclRequest_ACL_COMMAND int32
type NSRequest_AclRequest_ACL_TYPE int32
type NSRequest_VersionRequest_VERSION_CMD int32

// Only the keys reva looks up; the values are arbitrary.
var (
	NSRequest_AclRequest_ACL_COMMAND_value     = map[string]int32{"MODIFY": 1, "LIST": 2}
	NSRequest_AclRequest_ACL_TYPE_value        = map[string]int32{"SYS_ACL": 1}
	NSRequest_VersionRequest_VERSION_CMD_value = map[string]int32{"GRAB": 1}
)

type NSRequest_AclRequest struct {
	Cmd       NSRequest_AclRequest_ACL_COMMAND
	Type      NSRequest_AclRequest_ACL_TYPE
	Id        *MDId
	Recursive bool
	Rule      string
}

type NSRequest_ChmodRequest struct {
	Id   *MDId
	Mode int64
}

type NSRequest_ChownRequest struct {
	Id    *MDId
	Owner *RoleId
}

type NSRequest_MkdirRequest struct {
	Id        *MDId
	Mode      int64
	Recursive bool
}

type QUOTAOP int32

const (
	QUOTAOP_GET QUOTAOP = iota
	QUOTAOP_SET
)

type NSRequest_QuotaRequest struct {
	Path               []byte
	Id                 *RoleId
	Op                 QUOTAOP
	Maxbytes, Maxfiles uint64
}

type NSRequest_RenameRequest struct {
	Id     *MDId
	Target []byte
}

type NSRequest_RmRequest struct {
	Id                   *MDId
	Recursive, Norecycle bool
}

type NSRequest_SetXAttrRequest struct {
	Id                *MDId
	Xattrs            map[string][]byte
	Keystodelete      []string
	Recursive, Create bool
}

type NSRequest_TokenRequest struct{ Token *ShareToken }
type ShareToken struct{ Token *ShareProto }
type ShareProto struct {
	Permission, Path string
	Expires          uint64
	Allowtree        bool
}

type NSRequest_TouchRequest struct{ Id *MDId }

type NSRequest_UnlinkRequest struct {
	Id        *MDId
	Norecycle bool
}

type NSRequest_VersionRequest struct {
	Cmd         NSRequest_VersionRequest_VERSION_CMD
	Id          *MDId
	Grabversion string
}

type RecycleType int32

const (
	RecycleProto_UID RecycleType = iota
	RecycleProto_RID
)

// RecycleProto.Subcmd holds one of the RecycleProto_<Cmd> wrappers below.
type RecycleProto struct{ Subcmd any }

type RecycleProto_Ls struct{ Ls *RecycleProto_LsProto }
type RecycleProto_Purge struct{ Purge *RecycleProto_PurgeProto }
type RecycleProto_Restore struct{ Restore *RecycleProto_RestoreProto }

type RecycleProto_LsProto struct {
	Type                    RecycleType
	FullDetails, MonitorFmt bool
	Maxentries              int32
	Date, RecycleId         string
}

type RecycleProto_PurgeProto struct {
	Type           RecycleType
	RecycleId, Key string
}

type RecycleProto_RestoreProto struct{ Key string }

// Responses. reva only reads them; the stub never produces one.

type Result struct {
	Code int64
	Msg  string
}

type NSResponse struct {
	Error   *Result
	Version *Result
	Acl     *AclResponse
	Quota   *QuotaResponse
	Recycle *RecycleResponse
}

func (r *NSResponse) GetError() *Result {
	if r == nil {
		return nil
	}
	return r.Error
}

func (r *NSResponse) GetVersion() *Result {
	if r == nil {
		return nil
	}
	return r.Version
}

type AclResponse struct {
	Code int64
	Msg  string
	Rule string
}

type QuotaResponse struct {
	Code      int64
	Quotanode []*QuotaNode
}

type QuotaNode struct {
	Path                                                   []byte
	Maxlogicalbytes, Usedlogicalbytes, Maxfiles, Usedfiles uint64
}

type RecycleInfoType int32

const NSResponse_RecycleResponse_RecycleInfo_TREE RecycleInfoType = 1

type RecycleResponse struct{ Recycles []*RecycleInfo }

type RecycleInfo struct {
	Id    *MDId
	Key   string
	Size  uint64
	Dtime *Time
	Type  RecycleInfoType
}
