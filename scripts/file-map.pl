#!/usr/bin/perl
# file-map.pl — the map of src/sql for newcomers (issue 13).  The header
# comment of every SQL file ends with a part generated from the code, after
# the line " * Map (scripts/file-map.pl):":
#   API        the functions granted to gpubill's roles (9_security), the
#              views, and everything of the types layer;
#   Internals  the other functions;
#   Tables / Types  what the file creates;
#   Uses       the earlier layers whose objects it uses.
#   perl scripts/file-map.pl            check: list the files whose map is out of date, exit 1 if any
#   perl scripts/file-map.pl --write    rewrite the maps
use strict;
use warnings;
use File::Basename qw(dirname);

my $write = (@ARGV && $ARGV[0] eq '--write');
chdir(dirname($0) . '/..') or die "cd: $!";
my @files = sort glob('src/sql/*/*.sql');
my $marker = ' * Map (scripts/file-map.pl):';

sub slurp { my ($f) = @_; open(my $fh, '<', $f) or die "$f: $!"; local $/; my $s = <$fh>; close $fh; return $s; }
sub layer_of { my ($f) = @_; return $f =~ m{^src/sql/([^/]+)/} ? $1 : ''; }

# every object's layer, and the functions granted to a role
my (%layer, %granted);
for my $f (@files) {
	my $s = slurp($f);
	while ($s =~ /CREATE (?:OR REPLACE )?(?:UNLOGGED )?(?:FUNCTION|TABLE|VIEW|TYPE|SEQUENCE|DOMAIN|AGGREGATE) \@extschema\@\.(\w+)/g) {
		$layer{$1} //= layer_of($f);
	}
	while ($s =~ /GRANT EXECUTE ON FUNCTION(.*?)\bTO\b/gs) {
		my $list = $1;
		$granted{$1} = 1 while $list =~ /\@extschema\@\.(\w+)\(/g;
	}
}

# lines of "Label: a, b, c." wrapped at 78 columns
sub wrap {
	my ($label, @names) = @_;
	return () unless @names;
	my @out;
	my $line = " * $label:";
	for my $i (0 .. $#names) {
		my $word = $names[$i] . ($i == $#names ? '.' : ',');
		if (length($line) + 1 + length($word) > 78) {
			push @out, $line;
			$line = " *   $word";
		} else {
			$line .= " $word";
		}
	}
	push @out, $line;
	return @out;
}

sub uniq_sorted { my %seen; return sort grep { !$seen{$_}++ } @_; }

my @stale;
for my $f (@files) {
	my $s = slurp($f);
	my $own = layer_of($f);
	my (@api, @internal, @tables, @types, %uses);
	while ($s =~ /CREATE (?:OR REPLACE )?FUNCTION \@extschema\@\.(\w+)\(/g) {
		my $name = $1;
		if ($own =~ /_types$/ || $granted{$name}) { push @api, $name; } else { push @internal, $name; }
	}
	push @api, $1 while $s =~ /CREATE (?:OR REPLACE )?VIEW \@extschema\@\.(\w+)/g;
	push @tables, $1 while $s =~ /CREATE (?:UNLOGGED )?TABLE \@extschema\@\.(\w+)/g;
	push @types, $1 while $s =~ /CREATE TYPE \@extschema\@\.(\w+)/g;
	while ($s =~ /\@extschema\@\.(\w+)/g) {
		my $l = $layer{$1};
		$uses{$l} = 1 if defined $l && $l ne $own;
	}
	my @map = ($marker,
			   wrap('API', uniq_sorted(@api)),
			   wrap('Internals', uniq_sorted(@internal)),
			   wrap('Tables', uniq_sorted(@tables)),
			   wrap('Types', uniq_sorted(@types)),
			   wrap('Uses', %uses ? sort(keys %uses) : ('nothing')));
	# the header: the first comment; the map replaces what follows the marker in it
	my ($head, $rest) = $s =~ m{\A(/\*.*?\n) \*/\n(.*)\z}s or die "$f: no header comment\n";
	$head =~ s/\n \*\n\Q$marker\E\n.*\z/\n/s;
	my $new = $head . " *\n" . join("\n", @map) . "\n */\n" . $rest;
	next if $new eq $s;
	push @stale, $f;
	if ($write) { open(my $fh, '>', $f) or die "$f: $!"; print $fh $new; close $fh; }
}
if (@stale && !$write) {
	print "$_: the map in the header is out of date (perl scripts/file-map.pl --write)\n" for @stale;
	exit 1;
}
print "rewrote the map of $_\n" for ($write ? @stale : ());
exit 0;
