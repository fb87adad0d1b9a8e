package postgres

// Test helpers for the package's external tests (session_test.go, which
// runs jobs through exec/session: it imports the registry, which imports
// this package, so it cannot be an internal test).
var (
	ServerURL = serverURL
	DBConn    = dbConn
	MustExec  = mustExec
	TableName = tableName
	Dump      = dump
)
