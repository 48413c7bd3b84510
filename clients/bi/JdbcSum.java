// JdbcSum.java — what a BI tool does through JDBC (pgjdbc, Debian's
// libpostgresql-jdbc-java): the column types of a view from the driver's
// metadata, then a generated SUM(...) GROUP BY currency read with getBigDecimal.
// Prints one line per fact, for test/bi_drivers.sh.
//
//     java -cp /usr/share/java/postgresql.jar clients/bi/JdbcSum.java 'jdbc:postgresql://127.0.0.1:5432/billing?user=bi'
import java.math.BigDecimal;
import java.sql.*;

public class JdbcSum {
    public static void main(String[] args) throws SQLException {
        try (Connection c = DriverManager.getConnection(args[0])) {
            for (String schema : new String[] {"gpubill_bi", "gpubill"}) {
                StringBuilder line = new StringBuilder(schema + ".customer_statement types");
                try (ResultSet cols = c.getMetaData().getColumns(null, schema, "customer_statement", null)) {
                    while (cols.next()) {
                        String name = cols.getString("COLUMN_NAME");
                        if (name.equals("currency") || name.equals("charged") || name.equals("closing_cash"))
                            line.append(' ').append(name).append('=').append(JDBCType.valueOf(cols.getInt("DATA_TYPE")).getName());
                    }
                }
                System.out.println(line);
            }
            StringBuilder sum = new StringBuilder("sum");
            try (Statement s = c.createStatement();
                 ResultSet r = s.executeQuery("SELECT \"currency\", SUM(\"charged\") FROM \"gpubill_bi\".\"customer_statement\" "
                                              + "GROUP BY \"currency\" ORDER BY \"currency\"")) {
                while (r.next()) {
                    BigDecimal v = r.getBigDecimal(2);
                    sum.append(' ').append(r.getString(1)).append('=').append(v.toPlainString());
                }
            }
            System.out.println(sum);
        }
    }
}
