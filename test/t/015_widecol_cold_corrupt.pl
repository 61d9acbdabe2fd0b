# A damaged cold block gives ERROR SQLSTATE XX001 naming the table, never a
# crash or a wrong answer: bytes flipped inside a block tuple on disk are
# caught by the block's CRC32C (checksums off) or by the page checksum
# (checksums on).  Rows in other blocks stay readable through an index, and
# widecol.verify reports the bad block as a failed check instead of
# stopping.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

foreach my $checksums (0, 1)
{
	my $node = PostgreSQL::Test::Cluster->new("widecol_corrupt_$checksums");
	$node->init(extra => $checksums ? ['--data-checksums'] : []);
	$node->append_conf('postgresql.conf', "autovacuum = off\n");
	$node->start;
	my $label = $checksums ? 'checksums on' : 'checksums off';

	$node->safe_psql('postgres', q{
		CREATE EXTENSION widecol;
		CREATE TABLE ev (user_id int, ts int, kind int, payload text)
		  USING widecol WITH (partition_key = 'user_id', sort_key = 'ts');
		CREATE INDEX ev_user_ts ON ev (user_id, ts);
		INSERT INTO ev SELECT g % 50, g, g % 7, 'row ' || g || repeat(' pad', g % 9)
		  FROM generate_series(1, 20000) g;
	});
	$node->safe_psql('postgres', q{SELECT widecol.compact('ev')});
	my $toast = $node->safe_psql('postgres',
		q{SELECT reltoastrelid::regclass FROM pg_class WHERE oid = 'ev'::regclass});
	my $path = $node->safe_psql('postgres',
		q{SELECT pg_relation_filepath(reltoastrelid) FROM pg_class WHERE oid = 'ev'::regclass});
	my ($tid, $blockid) = split /\|/, $node->safe_psql('postgres',
		qq{SELECT ctid, chunk_id FROM $toast WHERE chunk_seq = -1 ORDER BY ctid LIMIT 1});
	my ($page, $lp) = $tid =~ /\((\d+),(\d+)\)/;
	# a row stored in the damaged block, and one on another TOAST page
	my ($bad_user, $bad_ts) = split /\|/, $node->safe_psql('postgres',
		qq{SELECT user_id, ts FROM ev WHERE ctid = '($blockid,292)'});
	my $good_block = $node->safe_psql('postgres',
		qq{SELECT chunk_id FROM $toast WHERE chunk_seq = -1 AND (ctid::text::point)[0] <> $page
		    ORDER BY ctid LIMIT 1});
	my ($good_user, $good_ts) = split /\|/, $node->safe_psql('postgres',
		qq{SELECT user_id, ts FROM ev WHERE ctid = '($good_block,292)'});
	ok(defined $bad_user && defined $good_user, "$label: found rows in and outside block $blockid");
	$node->stop;

	# locate the tuple through its line pointer and flip payload bytes
	my $file = $node->data_dir . '/' . $path;
	open(my $fh, '+<', $file) or die "could not open $file: $!";
	binmode $fh;
	my $pagebuf;
	sysseek($fh, $page * 8192, 0) or die;
	sysread($fh, $pagebuf, 8192) == 8192 or die;
	my $itemid = unpack('V', substr($pagebuf, 24 + 4 * ($lp - 1), 4));
	my $lp_off = $itemid & 0x7fff;
	my $lp_len = ($itemid >> 17) & 0x7fff;
	my $t_hoff = unpack('C', substr($pagebuf, $lp_off + 22, 1));
	# chunk_id, chunk_seq, varlena header, then 48 header bytes: damage frames
	my $at = $lp_off + $t_hoff + 12 + 200;
	ok($at + 16 < $lp_off + $lp_len, "$label: the damage lies inside the block tuple");
	substr($pagebuf, $at, 16) = ~substr($pagebuf, $at, 16);
	sysseek($fh, $page * 8192, 0) or die;
	syswrite($fh, $pagebuf, 8192) == 8192 or die;
	close($fh);
	$node->start;

	# (count(*) alone is a column scan that reads no frame: without page
	# checksums it does not see damage inside the frames)
	my ($ret, $stdout, $stderr) = $node->psql('postgres',
		"\\set VERBOSITY verbose\nSET widecol.enable_columnscan = off;\nSELECT count(*) FROM ev");
	isnt($ret, 0, "$label: a sequential scan fails");
	like($stderr, qr/ERROR:  XX001:/, "$label: with SQLSTATE XX001");
	like($stderr, qr/widecol table "ev"/, "$label: naming the table");
	($ret, $stdout, $stderr) = $node->psql('postgres',
		"\\set VERBOSITY verbose\nSELECT sum(kind) FROM ev");
	like($stderr, qr/ERROR:  XX001:/, "$label: a column scan that decodes fails with XX001");
	($ret, $stdout, $stderr) = $node->psql('postgres',
		"\\set VERBOSITY verbose\nSET enable_seqscan = off;\nSELECT kind FROM ev WHERE user_id = $bad_user AND ts = $bad_ts");
	like($stderr, qr/ERROR:  XX001:.*\n(.*\n)*.*widecol table "ev"|ERROR:  XX001:  widecol table "ev"/,
		"$label: an index fetch of a row in the block fails with XX001 naming the table");
	is($node->safe_psql('postgres',
		"SET enable_seqscan = off; SELECT count(*) FROM ev WHERE user_id = $good_user AND ts = $good_ts"),
		'1', "$label: a row in another block is still readable");
	if ($checksums)
	{
		($ret, $stdout, $stderr) = $node->psql('postgres', q{SELECT * FROM widecol.verify('ev')});
		like($stderr, qr/invalid page in block/, "$label: verify reports the unreadable page");
	}
	else
	{
		is($node->safe_psql('postgres',
			q{SELECT count(*) FROM widecol.verify('ev') WHERE NOT ok AND detail LIKE '%checksum mismatch%'}),
			'1', "$label: verify reports the block as a failed check");
	}
	is($node->safe_psql('postgres', 'SELECT 1'), '1', "$label: the server is still up");
	$node->stop;
}

done_testing();
