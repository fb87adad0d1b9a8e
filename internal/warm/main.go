package main
import (
 _ "github.com/pingcap/tidb/pkg/parser"
 _ "github.com/pingcap/tidb/pkg/parser/test_driver"
 _ "github.com/apache/arrow/go/v17/arrow/array"
 _ "github.com/apache/arrow/go/v17/arrow/ipc"
 _ "github.com/cockroachdb/pebble/v2"
 _ "github.com/peterh/liner"
 _ "github.com/cockroachdb/datadriven"
)
func main(){}
