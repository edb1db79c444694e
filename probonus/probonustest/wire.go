package probonustest

// The simulator's own copy of the modeled wire format (see /work/shared/api/probonus.md). It is
// deliberately not shared with the client: tests then check the client against an independent
// reading of the contract rather than against itself.

import (
	"encoding/json"
	"net/http"
	"time"

	"github.com/hotelsync/syncd/probonus"
)

const apiPrefix = "/api/v0"

type jsonIdentifier struct {
	IdentifierTypeID int64  `json:"identifierTypeId"`
	Value            string `json:"value"`
}

type jsonAccount struct {
	ID                int64            `json:"id"`
	FirstName         string           `json:"firstName"`
	LastName          string           `json:"lastName"`
	MiddleName        string           `json:"middleName"`
	Email             string           `json:"email"`
	Phones            []string         `json:"phones"`
	AccountGroupID    int64            `json:"accountGroupId"`
	Identifiers       []jsonIdentifier `json:"identifiers"`
	Balance           int64            `json:"balance"`
	DiscountLevelName string           `json:"discountLevelName"`
	Blocked           bool             `json:"blocked"`
}

func accountJSON(a probonus.Account) jsonAccount {
	j := jsonAccount{
		ID:                a.ID,
		FirstName:         a.FirstName,
		LastName:          a.LastName,
		MiddleName:        a.MiddleName,
		Email:             a.Email,
		Phones:            append([]string{}, a.Phones...),
		AccountGroupID:    a.AccountGroupID,
		Identifiers:       []jsonIdentifier{},
		Balance:           a.Balance,
		DiscountLevelName: a.DiscountLevelName,
		Blocked:           a.Blocked,
	}
	for _, id := range a.Identifiers {
		j.Identifiers = append(j.Identifiers, jsonIdentifier{IdentifierTypeID: id.TypeID, Value: id.Value})
	}
	return j
}

// createRequest uses pointers and raw numbers where the server must tell a missing or mistyped
// field from a zero value, as pydantic does.
type createRequest struct {
	FirstName      *string          `json:"firstName"`
	LastName       string           `json:"lastName"`
	MiddleName     string           `json:"middleName"`
	Email          string           `json:"email"`
	Phones         []string         `json:"phones"`
	AccountGroupID int64            `json:"accountGroupId"`
	Identifiers    []jsonIdentifier `json:"identifiers"`
}

type operationRequest struct {
	AccountID *json.Number `json:"accountId"`
	Sum       *json.Number `json:"sum"`
	Reason    *string      `json:"reason"`
}

type jsonOperation struct {
	ID        int64  `json:"id"`
	AccountID int64  `json:"accountId"`
	Type      string `json:"type"`
	Sum       int64  `json:"sum"`
	Reason    string `json:"reason"`
	CreatedAt string `json:"createdAt"`
	Balance   int64  `json:"balance"`
}

func operationJSON(o probonus.Operation) jsonOperation {
	return jsonOperation{
		ID:        o.ID,
		AccountID: o.AccountID,
		Type:      o.Type,
		Sum:       o.Sum,
		Reason:    o.Reason,
		CreatedAt: o.CreatedAt.Format(time.RFC3339),
		Balance:   o.Balance,
	}
}

type operationsPage struct {
	Items []jsonOperation `json:"items"`
	Total int             `json:"total"`
}

type directoryEntry struct {
	ID   int64  `json:"id"`
	Name string `json:"name"`
}

var identifierTypes = []directoryEntry{
	{ID: probonus.IdentifierCard, Name: "Карта"},
	{ID: probonus.IdentifierPhone, Name: "Телефон"},
	{ID: probonus.IdentifierEmail, Name: "E-mail"},
}

// defaultAccountGroupID is the group an account created without accountGroupId joins.
const defaultAccountGroupID int64 = 1

// accountGroups is the simulated directory of account groups; creating an account in any other
// group answers 400.
var accountGroups = []directoryEntry{
	{ID: 1, Name: "Гости отеля"},
	{ID: 2, Name: "Персонал"},
}

// validationIssue is one entry of a FastAPI 422 detail list.
type validationIssue struct {
	Loc  []any  `json:"loc"`
	Msg  string `json:"msg"`
	Type string `json:"type"`
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(v) // the client may have gone; nothing to do about it here
}

func writeDetail(w http.ResponseWriter, status int, detail string) {
	writeJSON(w, status, map[string]any{"detail": detail})
}

func writeValidation(w http.ResponseWriter, issues ...validationIssue) {
	writeJSON(w, http.StatusUnprocessableEntity, map[string]any{"detail": issues})
}
