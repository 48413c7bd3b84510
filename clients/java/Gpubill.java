// Gpubill.java — registering gpubill's types with pgjdbc (issue 16).
//
// Three idioms bind and read an amount; all give the same journal:
//   1. PGamount:  Gpubill.register(conn); ps.setObject(i, new PGamount(value, "CNY")); rs.getObject(...)
//   2. text:      connect with stringtype=unspecified, then ps.setString(i, "100.00 CNY") — the server
//                 casts the untyped string to gpubill.amount (without it, setString sends varchar: an error)
//   3. numbers:   "gpubill.amount(?, ?)" with setBigDecimal and setString; read "gpubill.to_numeric(x)" with
//                 getBigDecimal and "gpubill.currency(x)" with getString
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import org.postgresql.PGConnection;

public final class Gpubill {
    private Gpubill() {}

    /** Map gpubill.amount to PGamount on this connection, whatever its search_path. */
    public static void register(Connection conn) throws SQLException {
        PGConnection pg = conn.unwrap(PGConnection.class);
        for (String name : new String[] {"amount", "gpubill.amount", "\"gpubill\".\"amount\""})
            pg.addDataType(name, PGamount.class);
    }

    /** The oid of gpubill.amount, for binaryTransferEnable. */
    public static int amountOid(Connection conn) throws SQLException {
        try (Statement s = conn.createStatement(); ResultSet r = s.executeQuery("SELECT 'gpubill.amount'::regtype::oid")) {
            r.next();
            return r.getInt(1);
        }
    }
}
