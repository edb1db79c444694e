package main

import (
	"strings"
	"testing"
)

// The demo shows the loyalty loop: a stay earns, a later stay paid partly with bonuses is
// withdrawn in ProBonus with its #r marker, and the arriving guest's notes show the card and the
// new balance; its audit of both invariants passes.
func TestDemoShowsTheLoyaltyLoop(t *testing.T) {
	text, _ := sharedDemo(t) // the demo run TestDemoTellsTheStory reads too: no extra seconds
	for _, want := range []string{
		"A stay earns", "1 deposit (1 500 bonuses)",
		`ProBonus: withdraw 1 000 bonuses "Оплата бонусами LOOP-2 (bnovo:99100002#r1)"; balance 1 500 -> 500`,
		`guest notes of booking LOOP-3: "Предпочитает тихий номер\nProBonus: карта `, `баланс 500 бонусов`,
		"invariant:   OK — earned 1 500 bonuses (#1), paid with 1 000 (#r1)",
	} {
		if !strings.Contains(text, want) {
			t.Errorf("the demo's output lacks %q:\n%s", want, text)
		}
	}
}
