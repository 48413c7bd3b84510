// Scenario.java — clients/scenario.sql through pgjdbc (issue 16): the same
// calls with the same values, amounts bound in each of Gpubill's three idioms
// (PGamount, a string with stringtype=unspecified, gpubill.amount(?, ?)),
// and read back as PGamount (text or binary transfer) and as numbers.
// Prints the three lines scenario.sql prints; test/clients.sh compares them
// and the journal with psql's.
//
//     java -cp /usr/share/java/postgresql.jar:CLASSES Scenario 'jdbc:postgresql://127.0.0.1:5432/billing?user=app&stringtype=unspecified' [binary]
import java.math.BigDecimal;
import java.sql.*;
import java.util.Properties;

public class Scenario {
    static long one(PreparedStatement ps) throws SQLException {
        try (ResultSet r = ps.executeQuery()) { r.next(); return r.getLong(1); }
    }

    public static void main(String[] args) throws SQLException {
        boolean binary = args.length > 1 && args[1].equals("binary");
        Properties props = new Properties();
        if (binary) {
            try (Connection c = DriverManager.getConnection(args[0])) {
                props.setProperty("binaryTransferEnable", Integer.toString(Gpubill.amountOid(c)));
                props.setProperty("prepareThreshold", "-1");	// binary from the first execution
            }
        }
        try (Connection c = DriverManager.getConnection(args[0], props)) {
            Gpubill.register(c);
            try (Statement s = c.createStatement()) { s.execute("SET search_path = gpubill, public"); }
            PreparedStatement ps = c.prepareStatement("SELECT open_partner(?, ?, ?::timestamptz)");
            ps.setString(1, "sc-owner"); ps.setString(2, "CNY"); ps.setString(3, "2026-11-01");
            long p = one(ps);
            // 1. PGamount
            ps = c.prepareStatement("SELECT list_machine(?, ?, ?, ?::timestamptz, at => ?::timestamptz)");
            ps.setLong(1, p); ps.setInt(2, 4); ps.setObject(3, new PGamount(new BigDecimal("2.00"), "CNY"));
            ps.setString(4, "2027-12-01"); ps.setString(5, "2026-11-01");
            long m = one(ps);
            ps = c.prepareStatement("SELECT open_customer(?, ?, ?::timestamptz)");
            ps.setString(1, "sc-cust"); ps.setString(2, "CNY"); ps.setString(3, "2026-11-01");
            long cu = one(ps);
            // 2. a string, cast by the server (stringtype=unspecified)
            ps = c.prepareStatement("SELECT recharge(?, ?, 'wechat', ?, ?)");
            ps.setLong(1, cu); ps.setString(2, "100.00 CNY"); ps.setString(3, "sc-r1"); ps.setString(4, "2026-11-01 08:00+08");
            one(ps);
            // 3. numbers: gpubill.amount(value, currency)
            ps = c.prepareStatement("SELECT grant_voucher(?, gpubill.amount(?, ?), ?, ?, ?)");
            ps.setLong(1, cu); ps.setBigDecimal(2, new BigDecimal("5.50")); ps.setString(3, "CNY");
            ps.setString(4, "2026-12-01"); ps.setString(5, "2026-11-01 08:00+08"); ps.setString(6, "sc-v1");
            one(ps);
            ps = c.prepareStatement("SELECT create_instance(?, ?, ?, at => ?::timestamptz)");
            ps.setLong(1, cu); ps.setLong(2, m); ps.setInt(3, 2); ps.setString(4, "2026-11-01 09:30+08");
            long i = one(ps);
            ps = c.prepareStatement("SELECT tick(?::timestamptz) IS NOT NULL AND tick(?::timestamptz) IS NOT NULL");
            ps.setString(1, "2026-11-01 10:00+08"); ps.setString(2, "2026-11-01 11:00+08");
            try (ResultSet r = ps.executeQuery()) { r.next(); }
            ps = c.prepareStatement("SELECT stop_instance(?, ?::timestamptz) IS NULL");
            ps.setLong(1, i); ps.setString(2, "2026-11-01 11:15+08");
            try (ResultSet r = ps.executeQuery()) { r.next(); }
            ps = c.prepareStatement("SELECT rate_partner(?, ?, ?, ?::timestamptz)");
            ps.setLong(1, p); ps.setInt(2, 100); ps.setString(3, "sc"); ps.setString(4, "2026-11-02");
            try (ResultSet r = ps.executeQuery()) { r.next(); }

            ps = c.prepareStatement("SELECT cash, gpubill.to_numeric(cash), gpubill.currency(cash) FROM wallet(?)");
            ps.setLong(1, cu);
            PGamount cash;
            try (ResultSet r = ps.executeQuery()) {
                r.next();
                cash = (PGamount) r.getObject(1);
                PGamount byNumbers = new PGamount(r.getBigDecimal(2), r.getString(3));
                if (!cash.equals(byNumbers)) throw new IllegalStateException(cash + " read as numbers is " + byNumbers);
            }
            ps = c.prepareStatement("SELECT ?::gpubill.amount");	// a value round-trips exactly
            PGamount tiny = new PGamount(new BigDecimal("-0.000001"), "USD");
            ps.setObject(1, tiny);
            try (ResultSet r = ps.executeQuery()) {
                r.next();
                if (!tiny.equals(r.getObject(1))) throw new IllegalStateException("round trip: " + r.getObject(1));
            }
            ps = c.prepareStatement("SELECT partner_rating(?)::text, extract(epoch FROM lower(b))::bigint, extract(epoch FROM upper(b))::bigint, unit(b) "
                                    + "FROM billing_period('month', ?::timestamptz) b");
            ps.setLong(1, p); ps.setString(2, "2026-11-05 10:00+08");
            try (ResultSet r = ps.executeQuery()) {
                r.next();
                System.out.println("cash " + cash);
                System.out.println("rating " + r.getString(1));
                System.out.println("period " + r.getLong(2) + " " + r.getLong(3) + " " + r.getString(4));
            }
            if (binary && (PGamount.binaryReads == 0 || PGamount.binaryWrites == 0))
                throw new IllegalStateException("binary transfer was not used: " + PGamount.binaryReads + " reads, " + PGamount.binaryWrites + " writes");
        }
    }
}
