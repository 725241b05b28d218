/** Inputs an operator or an agent might pass by mistake or by malice. */
export const BAD_NAMES = [
  '', '.', '..', '../x', '../../etc', 'a/../b', 'a/b', '/abs', 'a@b', '@b', 'a@', '-rf', '--help', '-', '-x',
  '.hidden', ' lead', 'trail ', 'in side', 'tab\tname', 'new\nline', 'nul\0byte', 'x'.repeat(300), 'x'.repeat(101),
  'slot1 ; rm -rf /', '$(reboot)', '`id`', 'a|b', 'a;b', 'a&b', 'a>b', 'a*b', 'a?b', 'a%b', 'a#b', 'a,b',
  'ѕlot1' /* Cyrillic s */, 'dev‐env' /* Unicode hyphen */, 'café', 'ａ' /* fullwidth */, 'a\u200bb' /* zero width space */,
  'a\\b', "a'b", 'a"b', 'a..b',
];
