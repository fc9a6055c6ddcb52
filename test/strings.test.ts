/**
 * The `strings` shortcode (SPEC §9.6: every operation, its arguments, `varsDelimeter`, repeated and
 * unknown parameters, the [ours] fixes, the work budget) and the `strings()` expression object
 * (§9.8) in a field and through the Query API. Expected answers come from the reference's own tests
 * (StringsShortcodeTest, StringsExpressionTest) where they exist, else from the string library's
 * source and PHP's functions. Every case is one field of an entry fetched over HTTP.
 */
import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { call, q, removeProject, startTestServer, tempProject, type TestServer } from './helpers.js';

/** What a field must answer: the exact text, or a check with its description. */
type Expected = string | { test: (value: unknown) => boolean; means: string };
type Case = [text: string, expected: Expected];

const MD5_FOO = '1356c67d7ad1638d816bfb822dd2c25d';
const SG1 = 'SG-1 returns from an off-world mission to P9Y-3C3';

const shape = (pattern: RegExp): Expected => ({ test: (v) => typeof v === 'string' && pattern.test(v), means: `text matching ${pattern}` });
const sameChars = (of: string): Expected => ({
  test: (v) => typeof v === 'string' && [...v].sort().join('') === [...of].sort().join(''),
  means: `the characters of "${of}" in any order`,
});

/** Case groups; each group becomes one entry whose fields are the cases in order. */
const GROUPS: Record<string, Case[]> = {
  'case and form': [
    ['(strings lower)zed FOO Bàř ÀÉ(/strings)', 'zed foo bàř àé'],
    ['(strings upper)zed foo bar(/strings)', 'ZED FOO BAR'],
    ['(strings upper)fòô(/strings)', 'FÒÔ'],
    ['(strings ucfirst)foo bar(/strings)', 'Foo bar'],
    ['(strings ucfirst)élan(/strings)', 'Élan'],
    ['(strings capitalize)that country was at the same stage of development as the United States in the 1940s(/strings)', 'That Country Was At The Same Stage Of Development As The United States In The 1940S'],
    ['(strings capitalize)it\'s foo-bar ÉLAN(/strings)', "It's Foo-Bar Élan"],
    ['(strings camel)foo_bar(/strings)', 'fooBar'],
    ['(strings camel)foo-bar baz(/strings)', 'fooBarBaz'],
    ['(strings studly)foo_bar(/strings)', 'FooBar'],
    ['(strings studly)hello world(/strings)', 'HelloWorld'],
    ['(strings snake)fooBar(/strings)', 'foo_bar'],
    ['(strings snake)FooBar(/strings)', 'foo_bar'],
    ['(strings snake)foo bar(/strings)', 'foo_bar'],
    ['(strings snake)foo(/strings)', 'foo'],
    ["(strings snake:'-')fooBarBaz(/strings)", 'foo-bar-baz'],
    ['(strings snake:.)fooBar(/strings)', 'foo.bar'],
    ['(strings kebab)Foo Bar(/strings)', 'foo-bar'],
    ['(strings kebab)fooBarBaz(/strings)', 'foo-bar-baz'],
    ["(strings sort:'asc')b a c(/strings)", 'a b c'],
    ["(strings sort:'desc')b a c(/strings)", 'c b a'],
    ['(strings sort:asc)b B a(/strings)', 'B a b'],
    ['(strings reverse)foo(/strings)', 'oof'],
    ['(strings reverse)bàř(/strings)', 'řàb'],
    ['(strings shuffle)123456890(/strings)', sameChars('123456890')],
    ['(strings shuffle)aaaa(/strings)', 'aaaa'],
    ['(strings random /)', shape(/^[0-9a-zA-Z]{64}$/)],
    ['(strings random:10 /)', shape(/^[0-9a-zA-Z]{10}$/)],
    ['(strings random:4,1234 /)', shape(/^[1234]{4}$/)],
    ['(strings random:3,x /)', 'xxx'],
    ["(strings random:'5,a')replaced(/strings)", 'aaaaa'],
    ['(strings random:0,z /)', 'z'],
    ['(strings repeat:3)foo(/strings)', 'foofoofoo'],
    ['(strings repeat)ab(/strings)', 'ab'],
    ['(strings repeat:0)ab(/strings)', ''],
    ['(strings increment)Page_1(/strings)', 'Page_2'],
    ['(strings increment)Page(/strings)', 'Page_1'],
    ['(strings increment)Page_9(/strings)', 'Page_10'],
    ['(strings increment)a_b_3(/strings)', 'a_b_4'],
    ['(strings increment:1,-)Page-1(/strings)', 'Page-2'],
    ['(strings increment:1,-)Page_1(/strings)', 'Page_1-1'],
    ['(strings increment:5)Page(/strings)', 'Page_5'],
    ["(strings increment:'1,.')a.1(/strings)", 'a.2'],
  ],
  'add and cut': [
    ["(strings append:' bar')zed foo(/strings)", 'zed foo bar'],
    ["(strings append:' bar, zed')zed foo(/strings)", 'zed foo bar zed'],
    ["(strings prepend:'zed ')foo bar(/strings)", 'zed foo bar'],
    ["(strings prepend:'a,b')x(/strings)", 'abx'],
    ["(strings start:'/')movies/sg-1/season-5/episode-21/(/strings)", '/movies/sg-1/season-5/episode-21/'],
    ["(strings start:'/')///movies(/strings)", '/movies'],
    ["(strings finish:'/')/movies/sg-1/season-5/episode-21(/strings)", '/movies/sg-1/season-5/episode-21/'],
    ["(strings finish:'/')a///(/strings)", 'a/'],
    ["(strings insert:'hello ,0')world(/strings)", 'hello world'],
    ["(strings insert:' world,5')hello(/strings)", 'hello world'],
    ['(strings move:0,5,10)helloworld(/strings)', 'worldhello'],
    ['(strings move:0,5,3)helloworld(/strings)', 'helloworld'],
    ['(strings padBoth:9)foo(/strings)', '   foo   '],
    ['(strings padLeft:6)foo(/strings)', '   foo'],
    ['(strings padRight:6)foo(/strings)', 'foo   '],
    ["(strings padLeft:'6,0')42(/strings)", '000042'],
    ["(strings padBoth:'8,-')foo(/strings)", '--foo---'],
    ["(strings padRight:'7,ab')x(/strings)", 'xababab'],
    ['(strings padLeft:2)foo(/strings)', 'foo'],
    ['(strings limit:5)Hello World(/strings)', 'Hello...'],
    ['(strings limit:6)Hello World(/strings)', 'Hello...'],
    ["(strings limit:'5, >>')Hello World(/strings)", 'Hello >>'],
    ['(strings limit:20)Hello World(/strings)', 'Hello World'],
    ['(strings limit)short(/strings)', 'short'],
    ["(strings wordsLimit:'1')foo bar zed(/strings)", 'foo...'],
    ["(strings wordsLimit:'1, >>>')foo bar zed(/strings)", 'foo >>>'],
    ['(strings wordsLimit:2)  foo bar zed(/strings)', '  foo bar...'],
    // [ours] nothing cut: no suffix (the reference answers `foo bar zed...`).
    ['(strings wordsLimit:3)foo bar zed(/strings)', 'foo bar zed'],
    ['(strings wordsLimit:5)foo bar zed(/strings)', 'foo bar zed'],
    ['(strings substr:4)foo bar baz(/strings)', 'bar baz'],
    ["(strings substr:'4,3')foo bar baz(/strings)", 'bar'],
    ['(strings substr:-3)foo bar baz(/strings)', 'baz'],
    ["(strings substr:'0,-4')foo bar baz(/strings)", 'foo bar'],
    ['(strings substr:1)fòôbàř(/strings)', 'òôbàř'],
    ['(strings at:0)abc(/strings)', 'a'],
    ['(strings at:1)abc(/strings)', 'b'],
    ['(strings at:2)abc(/strings)', 'c'],
    ['(strings at:-1)abc(/strings)', 'c'],
    ['(strings at:5)abc(/strings)', ''],
    ['(strings offsetGet:0)foo bar baz(/strings)', 'f'],
    ['(strings offsetGet:-1)foo(/strings)', 'o'],
    // [ours] out of range is '' (the reference fails with a 500).
    ['(strings offsetGet:3)foo(/strings)', ''],
    ['(strings offsetGet:-4)foo(/strings)', ''],
    ["(strings after:'foo')foo bar zed(/strings)", ' bar zed'],
    ['(strings after:x)abc(/strings)', 'abc'],
    ["(strings afterLast:'foo')foo foo bar zed(/strings)", ' bar zed'],
    ['(strings afterLast:x)abc(/strings)', 'abc'],
    ["(strings before:'zed')foo bar zed(/strings)", 'foo bar '],
    // [ours] absent search: the text unchanged (the reference answers the search text `x`).
    ['(strings before:x)abc(/strings)', 'abc'],
    ["(strings beforeLast:'foo')foo foo bar zed(/strings)", 'foo '],
    ['(strings beforeLast:x)abc(/strings)', 'abc'],
    ['(strings between:a,c)abc(/strings)', 'b'],
    ["(strings between:'<,>')1<a>2<b>3(/strings)", 'a>2<b'],
    ['(strings segment:0)foo bar baz(/strings)', 'foo'],
    ["(strings segment:'0,/')foo/bar/baz(/strings)", 'foo'],
    ['(strings segment)foo bar baz(/strings)', 'bar'],
    ['(strings segment:-1)foo bar baz(/strings)', 'baz'],
    ['(strings segment:5)foo bar baz(/strings)', ''],
    ['(strings firstSegment)SG-1 returns from an off-world mission(/strings)', 'SG-1'],
    ["(strings firstSegment:'-')SG-1 returns from an off-world mission(/strings)", 'SG'],
    ['(strings lastSegment)foo bar baz(/strings)', 'baz'],
    ["(strings lastSegment:'/')foo/bar/baz(/strings)", 'baz'],
  ],
  'replace and clean': [
    ['(strings replace:foo,bar)foo baz(/strings)', 'bar baz'],
    ['(strings replace:a,b)a a a(/strings)', 'b b b'],
    ['(strings replaceFirst:foo,bar)foo foo bar(/strings)', 'bar foo bar'],
    // [ours] absent search: unchanged (the reference answers the search text).
    ['(strings replaceFirst:x,y)abc(/strings)', 'abc'],
    ['(strings replaceLast:foo,bar)foo foo bar(/strings)', 'foo bar bar'],
    ['(strings replaceLast:x,y)abc(/strings)', 'abc'],
    ['(strings replaceDashes)foo-bar-baz(/strings)', 'foobarbaz'],
    ["(strings replaceDashes:'_')foo-bar-baz(/strings)", 'foo_bar_baz'],
    ['(strings replaceDashes)a–b(/strings)', 'ab'],
    ["(strings replaceDashes:'_,true') foo-bar baz (/strings)", 'foo_barbaz'],
    ['(strings replaceNonAlpha)foo 123 baz 345 bar(/strings)', 'foo  baz  bar'],
    ["(strings replaceNonAlpha:'#')a1b22c(/strings)", 'a#b#c'],
    ['(strings replaceNonAlphanumeric)Fòô-bàřs-123(/strings)', 'Fòôbàřs123'],
    ["(strings replaceNonAlphanumeric:'-')a!b@@c(/strings)", 'a-b-c'],
    ['(strings replacePunctuations)foo 123, baz, 345 bar(/strings)', 'foo 123 baz 345 bar'],
    ["(strings replacePunctuations:',true')foo 123, baz(/strings)", 'foo123baz'],
    ['(strings stripQuotes)some "text" here(/strings)', 'some text here'],
    ["(strings stripQuotes)it's(/strings)", 'its'],
    ['(strings stripSpaces)foo bar baz(/strings)', 'foobarbaz'],
    ['(strings stripSpaces) a \t b \n c (/strings)', 'abc'],
    ['(strings quotesToEntities)"foo"(/strings)', '&quot;foo&quot;'],
    ['(strings quotesToEntities)it\'s "x"(/strings)', 'it&#39;s &quot;x&quot;'],
    ['(strings normalizeNewLines)\r\n \r(/strings)', '\n \n'],
    ['(strings normalizeSpaces)foo  bar  baz(/strings)', 'foo bar baz'],
    ['(strings normalizeSpaces)a \t\n b(/strings)', 'a b'],
    ['(strings reduceSlashes)foo//bar/baz(/strings)', 'foo/bar/baz'],
    ['(strings reduceSlashes)http://a//b(/strings)', 'http://a/b'],
    ['(strings trim) foo bar baz (/strings)', 'foo bar baz'],
    ['(strings trim)\t\n foo \n(/strings)', 'foo'],
    ['(strings trimLeft) foo bar baz(/strings)', 'foo bar baz'],
    ['(strings trimLeft) foo (/strings)', 'foo '],
    ['(strings trimRight)foo bar baz (/strings)', 'foo bar baz'],
    ['(strings trimRight) foo (/strings)', ' foo'],
    ['(strings trimSlashes)/foo/bar/baz/(/strings)', 'foo/bar/baz'],
    ["(strings format:'5,tree')There are %d monkeys in the %s(/strings)", 'There are 5 monkeys in the tree'],
    ['(strings format:42)%05d(/strings)', '00042'],
    ["(strings format:'3.14159')%.2f(/strings)", '3.14'],
    ["(strings format:'a,b')%2$s %1$s(/strings)", 'b a'],
    ['(strings format)100%(/strings)', '100%'],
    // Too few arguments: the tag renders as written (the reference: a 500).
    ['(strings format:x)%s %s(/strings)', '(strings format:x)%s %s(/strings)'],
  ],
  'measure, hash, encode': [
    [`(strings length)foo bar baz(/strings)`, '11'],
    ['(strings length)bàř(/strings)', '3'],
    [`(strings count)${SG1}(/strings)`, '49'],
    ['(strings wordsCount)foo bar baz(/strings)', '3'],
    ['(strings wordsCount)Hello, world! Foo.(/strings)', '3'],
    ['(strings wordsCount)a-b c(/strings)', '2'],
    ["(strings wordsCount:'-')a-b c(/strings)", '3'],
    ['(strings countSubString:test)Test string here for test(/strings)', '1'],
    ['(strings countSubString:test,false)Test string here for test(/strings)', '2'],
    ['(strings countSubString:o)foo boo(/strings)', '4'],
    ['(strings indexOf:e)hello(/strings)', '1'],
    ["(strings indexOf:'l,3')hello(/strings)", '3'],
    ["(strings indexOf:'L,0,false')hello(/strings)", '2'],
    ['(strings indexOf:z)hello(/strings)', ''],
    ['(strings indexOfLast:l)hello(/strings)', '3'],
    ["(strings indexOfLast:'L,0,false')hello(/strings)", '3'],
    ['(strings indexOfLast:z)hello(/strings)', ''],
    ['(strings similarity:foo)foo(/strings)', '100'],
    ['(strings similarity:World)Hello(/strings)', '20'],
    // PHP prints the float 66.666… with 14 significant digits.
    ['(strings similarity:abd)abc(/strings)', '66.666666666667'],
    ['(strings crc32)test(/strings)', '3632233996'],
    ['(strings hash)Foo(/strings)', MD5_FOO],
    ['(strings hash:sha1)Foo(/strings)', '201a6b3053cc1422d2c3670b62616221d2290929'],
    ['(strings hash:crc32b)test(/strings)', 'd87f7e0c'],
    ['(strings hash:nope)Foo(/strings)', 'Foo'],
    ['(strings md5)Foo Bar(/strings)', '01677e4c0ae5468b9b8b823487f14524'],
    ['(strings sha1)Foo Bar(/strings)', '5cb8681884af2923487a6034d8dbe753828e2660'],
    ['(strings sha256)Foo Bar(/strings)', '55282c18206b9beb9998f5eaa15b85c9388463965678af5209e2cc3a3ff5b947'],
    ['(strings base64Encode)test(/strings)', 'dGVzdA=='],
    ['(strings base64Decode)dGVzdA==(/strings)', 'test'],
    ['(strings base64Encode)fòô(/strings)', 'ZsOyw7Q='],
    ['(strings getEncoding)Foo(/strings)', 'UTF-8'],
    // setEncoding answers the string object, whose text is unchanged.
    ["(strings setEncoding:'ASCII')Foo(/strings)", 'Foo'],
  ],
  'json answers': [
    ['(strings chars)car_fòô_bàřs_apple(/strings)', '["c","a","r","_","f","ò","ô","_","b","à","ř","s","_","a","p","p","l","e"]'],
    ['(strings charsFrequency)car_fòô_bàřs_apple(/strings)', '{"_":"16.67","a":"11.11","p":"11.11","c":"5.56","r":"5.56","f":"5.56","ò":"5.56","ô":"5.56","b":"5.56","à":"5.56","ř":"5.56","s":"5.56","l":"5.56","e":"5.56"}'],
    ['(strings charsFrequency)a b a(/strings)', '{"a":"66.67","b":"33.33"}'],
    ['(strings lines)Fòô òô\n fòô fò fò \nfò\r(/strings)', '["Fòô òô"," fòô fò fò ","fò"]'],
    ['(strings lines)a\r\nb\rc(/strings)', '["a","b","c"]'],
    ['(strings segments)foo bar baz(/strings)', '["foo","bar","baz"]'],
    ["(strings segments:'/')a/b/c(/strings)", '["a","b","c"]'],
    ['(strings words)foo bar baz(/strings)', '["foo","bar","baz"]'],
    ['(strings words)Hello, world!(/strings)', '["Hello","world"]'],
    ["(strings words:'-')a-b c(/strings)", '["a","b","c"]'],
    ['(strings wordsFrequency)foo bar baz(/strings)', '{"foo":"33.33","bar":"33.33","baz":"33.33"}'],
    ['(strings wordsFrequency)a b a(/strings)', '{"a":"66.67","b":"33.33"}'],
    ['(strings wordsFrequency:0)a b a(/strings)', '{"a":"67","b":"33"}'],
  ],
  predicates: [
    [`(strings contains:SG-1)${SG1}(/strings)`, 'true'],
    [`(strings contains:SG-1,P9Y-3C3)${SG1}(/strings)`, 'true'],
    [`(strings contains:'')${SG1}(/strings)`, 'false'],
    [`(strings contains:sg-1)${SG1}(/strings)`, 'false'],
    [`(strings contains:sg-1,false)${SG1}(/strings)`, 'true'],
    [`(strings contains:xx&P9Y)${SG1}(/strings)`, 'true'],
    // Needles are parse_str names: `.` becomes `_`.
    ["(strings contains:'a.b')xa_bx(/strings)", 'true'],
    [`(strings containsAll:SG-1)${SG1}(/strings)`, 'true'],
    [`(strings containsAll:SG-1&P9Y-3C3)${SG1}(/strings)`, 'true'],
    [`(strings containsAll:SG-1&XXX-3C3)${SG1}(/strings)`, 'false'],
    [`(strings containsAll:sg-1&P9Y-3C3,false)${SG1}(/strings)`, 'true'],
    [`(strings containsAny:SG-1)${SG1}(/strings)`, 'true'],
    [`(strings containsAny:SG-1&P9Y-3C3)${SG1}(/strings)`, 'true'],
    [`(strings containsAny:SG-1&XXX-3C3)${SG1}(/strings)`, 'true'],
    [`(strings containsAny:sg-1&P9Y-3C3,false)${SG1}(/strings)`, 'true'],
    [`(strings containsAny:xx&yy)${SG1}(/strings)`, 'false'],
    ["(strings startsWith:'/')/foo/(/strings)", 'true'],
    ['(strings startsWith:x)/foo/(/strings)', 'false'],
    ["(strings endsWith:'/')/movies/sg-1/season-5/episode-21/(/strings)", 'true'],
    ["(strings endsWith:'/')/movies/sg-1/season-5/episode-21(/strings)", 'false'],
    ['(strings isEqual:Foo)Foo(/strings)', 'true'],
    ['(strings isEqual:foo)Foo(/strings)', 'false'],
    ['(strings isSimilar:Foo)Foo(/strings)', 'true'],
    ['(strings isSimilar:Foo,50)Foo(/strings)', 'true'],
    ['(strings isSimilar:Bar)Foo(/strings)', 'false'],
    ['(strings isSimilar:Fop)Foo(/strings)', 'false'],
    ['(strings isSimilar:Fop,60)Foo(/strings)', 'true'],
    ['(strings offsetExists:0)foo bar baz(/strings)', 'true'],
    ['(strings offsetExists:3)foo(/strings)', 'false'],
    ['(strings offsetExists:-3)foo(/strings)', 'true'],
    ['(strings offsetExists:-4)foo(/strings)', 'false'],
    ['(strings isAlpha)foo(/strings)', 'true'],
    ['(strings isAlpha)fòô(/strings)', 'true'],
    ['(strings isAlpha)foo1(/strings)', 'false'],
    ['(strings isAlphanumeric)fòôbàřs12345(/strings)', 'true'],
    ['(strings isAlphanumeric)a b(/strings)', 'false'],
    ['(strings isAscii)#@$%(/strings)', 'true'],
    ['(strings isAscii)fò(/strings)', 'false'],
    ['(strings isBase64)dGVzdA==(/strings)', 'true'],
    ['(strings isBase64)foo!(/strings)', 'false'],
    ['(strings isBase64)(/strings)', 'false'],
    ['(strings isBlank)(/strings)', 'true'],
    ['(strings isBlank)  (/strings)', 'true'],
    ['(strings isBlank)a(/strings)', 'false'],
    ['(strings isBoolean)yes(/strings)', 'true'],
    ['(strings isBoolean)TRUE(/strings)', 'true'],
    ['(strings isBoolean)maybe(/strings)', 'false'],
    ['(strings isDigit)01234569(/strings)', 'true'],
    ['(strings isDigit)12a(/strings)', 'false'],
    ['(strings isEmail)awilum@msn.com(/strings)', 'true'],
    ['(strings isEmail)not-an-email(/strings)', 'false'],
    ['(strings isEmpty)(/strings)', 'true'],
    ['(strings isEmpty)0(/strings)', 'true'],
    ['(strings isEmpty)a(/strings)', 'false'],
    ['(strings isTrue)true(/strings)', 'true'],
    ['(strings isTrue)maybe(/strings)', 'true'],
    ['(strings isTrue)no(/strings)', 'false'],
    ['(strings isFalse)false(/strings)', 'true'],
    ['(strings isFalse)off(/strings)', 'true'],
    ['(strings isFalse)maybe(/strings)', 'false'],
    ['(strings isHexadecimal)19FDE(/strings)', 'true'],
    ['(strings isHexadecimal)19G(/strings)', 'false'],
    ['(strings isHTML)<p>Hello</p>(/strings)', 'true'],
    ['(strings isHTML)a < b(/strings)', 'false'],
    ['(strings isIP)127.0.0.1(/strings)', 'true'],
    ['(strings isIP)::1(/strings)', 'true'],
    ['(strings isIP)999.1.1.1(/strings)', 'false'],
    ['(strings isJson){"foo":"bar"}(/strings)', 'true'],
    ['(strings isJson)123(/strings)', 'true'],
    ['(strings isJson){foo}(/strings)', 'false'],
    ['(strings isLower)foo(/strings)', 'true'],
    ['(strings isLower)Foo(/strings)', 'false'],
    ['(strings isUpper)FOO(/strings)', 'true'],
    ['(strings isUpper)FÒÔ(/strings)', 'true'],
    ['(strings isUpper)FOo(/strings)', 'false'],
    ['(strings isMAC)00:00:00:00:00:00(/strings)', 'true'],
    ['(strings isMAC)01-23-45-67-89-ab(/strings)', 'true'],
    ['(strings isMAC)0123.4567.89ab(/strings)', 'true'],
    ['(strings isMAC)00:00(/strings)', 'false'],
    ['(strings isNumeric)12345(/strings)', 'true'],
    ['(strings isNumeric)1e3(/strings)', 'true'],
    ['(strings isNumeric).5(/strings)', 'true'],
    ['(strings isNumeric) 12(/strings)', 'true'],
    ['(strings isNumeric)0x1A(/strings)', 'false'],
    ['(strings isNumeric)abc(/strings)', 'false'],
    ["(strings isPrintable)!@#$%^&*()_+-:(){};\\':\\./<>?\\`~(/strings)", 'true'],
    ['(strings isPrintable)a\tb(/strings)', 'false'],
    ['(strings isPunctuation),(/strings)', 'true'],
    ['(strings isPunctuation)!?.,(/strings)', 'true'],
    ['(strings isPunctuation)a,(/strings)', 'false'],
    ['(strings isSerialized)a:1:{i:0;s:3:"foo";}(/strings)', 'true'],
    ['(strings isSerialized)b:0;(/strings)', 'true'],
    ['(strings isSerialized)i:5;(/strings)', 'true'],
    ['(strings isSerialized)foo(/strings)', 'false'],
    ['(strings isUrl)http://awilum.github.io(/strings)', 'true'],
    ['(strings isUrl)https://awilum.github.io(/strings)', 'true'],
    ['(strings isUrl)awilum.github.io(/strings)', 'false'],
  ],
  'parameters and chaining': [
    // Operations run in written order, each on the previous answer.
    ['(strings upper append:b)x(/strings)', 'Xb'],
    ['(strings append:b upper)x(/strings)', 'XB'],
    ['(strings length append:x)abc(/strings)', '3x'],
    ['(strings isEmpty upper)(/strings)', 'TRUE'],
    ['(strings words length)foo bar(/strings)', '13'],
    // A repeated parameter applies once: first position, last value.
    ['(strings append:a upper append:b)x(/strings)', 'XB'],
    // Unknown operations are ignored; no operation at all answers the text.
    ['(strings foo upper bar:1)a(/strings)', 'A'],
    ['(strings)text(/strings)', 'text'],
    // Self-closing: the empty text.
    ['(strings append:x /)', 'x'],
    ['(strings length /)', '0'],
    // The separator.
    ["(strings append:'a;b' varsDelimeter:';')x(/strings)", 'xab'],
    ["(strings replace:'a,b;c' varsDelimeter:';')a,b(/strings)", 'c'],
    ["(strings varsDelimeter:'|' insert:'-|1')ab(/strings)", 'a-b'],
    // Content and argument pieces are rendered first.
    ['(strings upper)(strings reverse)abc(/strings)(/strings)', 'CBA'],
    ["(strings append:'(strings upper)b(/strings)')a(/strings)", 'aB'],
    ["(strings append:'(strings hash)(strings upper)foo(/strings)(/strings)')Hash: (/strings)", 'Hash: 901890a8e9c8cf6d5a1a542b229febff'],
    ["(strings append:'(strings upper)b(/strings),(strings lower)C(/strings)')a(/strings)", 'aBc'],
    // Text around the tag stays.
    ['before (strings upper)x(/strings) after', 'before X after'],
  ],
  'work limits': [
    // Beyond entries.render.max_value_bytes the tag renders as written and the rest renders.
    ['(strings repeat:999999999)ab(/strings)', '(strings repeat:999999999)ab(/strings)'],
    ['(strings padLeft:99999999)ab(/strings)', '(strings padLeft:99999999)ab(/strings)'],
    ['(strings padBoth:99999999,x)ab(/strings)', '(strings padBoth:99999999,x)ab(/strings)'],
    ['(strings random:99999999 /)', '(strings random:99999999 /)'],
    // Output growing over nested tags: the inner answer fits, the outer one does not.
    ['(strings repeat:1000)(strings repeat:1000)abc(/strings)(/strings)', '(strings repeat:1000)(strings repeat:1000)abc(/strings)(/strings)'],
    ['(strings upper)x(/strings) (strings repeat:999999999)ab(/strings) (strings lower)Y(/strings)', 'X (strings repeat:999999999)ab(/strings) y'],
    ['(strings repeat:1000)ab(/strings)', 'ab'.repeat(1000)],
  ],
  'strings() in a field': [
    ["[[ strings('foo bar').upper() ]]", 'FOO BAR'],
    ["[[ strings('42').padLeft(6, '0') ]]", '000042'],
    ["[[ strings('x').padLeft(3, '-').upper() ]]", '--X'],
    ["[[ strings('b a c').wordsSortAsc() ]]", 'a b c'],
    ["[[ strings('b a c').wordsSortDesc() ]]", 'c b a'],
    ["[[ strings('Page').increment() ]]", 'Page_1'],
    ["[[ strings('Page-1').increment('-') ]]", 'Page-2'],
    ["[[ strings('Page').increment('_', 5) ]]", 'Page_5'],
    ["[[ strings('hello').indexOf('l') ]]", '2'],
    ["[[ strings('hello').indexOf('z') ]]", ''],
    ["[[ strings('abc').length() ]]", '3'],
    ["[[ strings('foo').contains('o') ]]", '1'],
    ["[[ strings('foo').contains(['x', 'f']) ]]", '1'],
    ["[[ strings('foo').contains('O') ]]", ''],
    ["[[ strings('foo').contains('O', false) ]]", '1'],
    ["[[ strings('foo bar baz').words() ]]", '["foo","bar","baz"]'],
    ["[[ strings(' a , b ').toArray(',') ]]", '["a","b"]'],
    ["[[ strings(' 42abc').toInteger() + 1 ]]", '43'],
    ["[[ strings('1.5').toFloat() * 2 ]]", '3'],
    ["[[ strings('yes').toBoolean() ]]", '1'],
    ["[[ strings('').isNotEmpty() ]]", ''],
    ["[[ strings('x').isNotEmpty() ]]", '1'],
    ["[[ strings('5').isInteger() ]]", '1'],
    ["[[ strings('1.5').isFloat() ]]", '1'],
    ["[[ strings('null').isNull() ]]", '1'],
    ["[[ strings('f47ac10b-58cc-4372-a567-0e02b2c3d479').isUuid() ]]", '1'],
    ["[[ strings('foo bar zed').wordsLimit(1) ]]", 'foo...'],
    ["[[ strings('foo bar zed').wordsLimit(3) ]]", 'foo bar zed'],
    ["[[ strings('abc').before('x') ]]", 'abc'],
    ["[[ strings('abc').replaceFirst('x', 'y') ]]", 'abc'],
    ["[[ strings('abc').replaceLast('b', 'B') ]]", 'aBc'],
    ["[[ strings('foo').offsetGet(5) ]]", ''],
    ["[[ strings('abc').similarity('abd') ]]", '66.666666666667'],
    ["[[ strings('Foo').hash('sha1') ]]", '201a6b3053cc1422d2c3670b62616221d2290929'],
    ["[[ strings('Foo').md5() ]]", MD5_FOO],
    ["[[ strings('ab').repeat(3) ]]", 'ababab'],
    ["[[ strings('aab').charsFrequency() ]]", '{"a":"66.67","b":"33.33"}'],
    ["[[ strings('foo').startsWith('f') ]]", '1'],
    ["[[ strings('%s-%s').format('a', 'b') ]]", 'a-b'],
    ["[[ strings('x').append('a', 'b').prepend('>') ]]", '>xab'],
    ["[[ strings('fooBar').snake() ~ '|' ~ strings('foo_bar').camel() ]]", 'foo_bar|fooBar'],
    ["[[ strings(12.5).upper() ]]", '12.5'],
    ["[[ strings('test').crc32() ]]", '3632233996'],
    ["[[ strings('a b').segments() ]]", '["a","b"]'],
    // The output of an expression is seen by shortcodes (expressions run first).
    ["[[ strings('(strings upper)a(/strings)').toString() ]]", 'A'],
    // An unknown method or a budget overrun renders the tag as written.
    ["[[ strings('x').noSuchMethod() ]]", "[[ strings('x').noSuchMethod() ]]"],
    ["[[ strings('ab').repeat(999999999) ]]", "[[ strings('ab').repeat(999999999) ]]"],
  ],
};

/** Entry id of a group. */
const idOf = (group: string) => `strings-${group.replace(/[^a-z]+/g, '-').replace(/-+$/, '')}`;
const fieldOf = (i: number) => `c${String(i).padStart(3, '0')}`;

function writeJsonEntry(projectDir: string, id: string, fields: Record<string, unknown>): void {
  const dir = path.join(projectDir, 'entries', ...id.split('/'));
  mkdirSync(dir, { recursive: true });
  writeFileSync(path.join(dir, 'entry.md'), `---json\n${JSON.stringify(fields, null, 2)}\n---\n`);
}

function matches(value: unknown, expected: Expected): boolean {
  return typeof expected === 'string' ? value === expected : expected.test(value);
}

let server: TestServer;
let projectDir: string;

before(async () => {
  projectDir = tempProject(false);
  for (const [group, cases] of Object.entries(GROUPS)) {
    writeJsonEntry(projectDir, idOf(group), Object.fromEntries(cases.map(([text], i) => [fieldOf(i), text])));
  }
  server = await startTestServer({ projectDir });
});

after(async () => {
  await server.close();
  removeProject(projectDir);
});

describe('strings shortcode and strings() in fields', () => {
  for (const [group, cases] of Object.entries(GROUPS)) {
    it(`${group} (${cases.length} cases)`, async () => {
      const res = await call(server.base, 'GET', '/entries', { query: `id=${q(idOf(group))}&token=${q(server.token)}` });
      assert.equal(res.status, 200, res.text);
      const wrong: string[] = [];
      cases.forEach(([text, expected], i) => {
        const value: unknown = res.body[fieldOf(i)];
        if (!matches(value, expected)) {
          wrong.push(`${JSON.stringify(text)}\n    expected ${typeof expected === 'string' ? JSON.stringify(expected) : expected.means}\n    got      ${JSON.stringify(value)}`);
        }
      });
      assert.equal(wrong.length, 0, `${wrong.length} of ${cases.length} cases differ:\n  ${wrong.join('\n  ')}`);
    });
  }

  it('random and shuffle answers are fresh on every fetch (never cached)', async () => {
    const id = idOf('case and form');
    const fetchField = async () => {
      const res = await call(server.base, 'GET', '/entries', { query: `id=${q(id)}&token=${q(server.token)}` });
      return res.body[fieldOf(GROUPS['case and form']!.findIndex(([text]) => text === '(strings random /)'))] as string;
    };
    const seen = new Set<string>();
    for (let i = 0; i < 3; i++) seen.add(await fetchField());
    assert.equal(seen.size, 3);
  });
});

describe('strings() through the Query API', () => {
  const query = (q: Record<string, unknown>) => call(server.base, 'POST', '/query', { json: { token: server.token, access_token: server.accessToken, query: q } });

  it('answers typed values: text objects as text, measures as numbers, predicates as booleans, lists and maps as JSON', async () => {
    const res = await query({
      upper: "strings('foo').upper()",
      chain: "strings('x').padLeft(3, '-').upper()",
      length: "strings('fòô').length()",
      has: "strings('foo').contains('o')",
      hasNot: "strings('foo').isEmpty()",
      words: "strings('a b').words()",
      freq: "strings('aab').charsFrequency()",
      absent: "strings('hello').indexOf('z')",
      at: "strings('hello').indexOfLast('l')",
      similarity: "strings('abc').similarity('abd')",
      integer: "strings('42abc').toInteger()",
      float: "strings('1.5').toFloat()",
      crc: "strings('test').crc32()",
      text: "strings('foo').toString()",
      lines: "strings('a\\nb').lines()",
    });
    assert.equal(res.status, 200, res.text);
    assert.deepEqual(res.body, {
      upper: 'FOO',
      chain: '--X',
      length: 3,
      has: true,
      hasNot: false,
      words: ['a', 'b'],
      freq: { a: '66.67', b: '33.33' },
      absent: false,
      at: 3,
      similarity: 66.66666666666667,
      integer: 42,
      float: 1.5,
      crc: 3632233996,
      text: 'foo',
      lines: ['a', 'b'],
    });
  });

  it('an unknown method or a budget overrun is a 400 naming the key', async () => {
    for (const [key, expression] of [
      ['bad', "strings('x').noSuchMethod()"],
      ['huge', "strings('ab').repeat(999999999)"],
      ['wide', "strings('ab').padLeft(99999999)"],
    ]) {
      const res = await query({ ok: '1', [key!]: expression });
      assert.equal(res.status, 400, `${expression}: ${res.text}`);
      assert.match(String(res.body?.detail), new RegExp(key!), res.text);
    }
  });
});
